/**
 * Line charts as SVG text, for the benchmarks' own figures: no network, no dependency.
 * Each series is drawn against the left axis, or the right one (`axis: 'right'`), with
 * points marked and a legend; axes get "nice" round ticks from 0 to the largest value.
 */

export interface Series {
  name: string;
  points: [x: number, y: number][];
  /** Stroke colour. */
  color: string;
  /** Which y axis it is read on. Default left. */
  axis?: 'left' | 'right';
  dashed?: boolean;
}

export interface Chart {
  title: string;
  x: { label: string };
  left: { label: string };
  right?: { label: string };
  series: Series[];
  /** A line under the plot: what was measured, where, when. */
  note?: string;
}

const WIDTH = 640;
const HEIGHT = 360;
const PAD = { top: 48, right: 72, bottom: 72, left: 72 };

/** Escapes text for SVG. */
function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Round ticks from 0 to at least `max`: 1, 2 or 5 times a power of ten apart. */
export function ticks(max: number, count = 5): number[] {
  if (!(max > 0)) return [0, 1];
  const raw = max / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = ([1, 2, 5, 10].find((m) => m * power >= raw) ?? 10) * power;
  const out: number[] = [];
  for (let v = 0; v < max + step * 0.999; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

function label(value: number): string {
  return value.toLocaleString('en', { maximumFractionDigits: 2 });
}

/**
 * An axis's tick labels: in thousands ("2k") when the axis reaches 10,000, where "10,000"
 * would crowd its neighbours, and then every tick alike (not "8,000" beside "10k").
 */
export function tickLabels(axis: readonly number[]): string[] {
  if ((axis.at(-1) ?? 0) < 10_000) return axis.map(label);
  return axis.map((t) => (t === 0 ? '0' : `${label(t / 1000)}k`));
}

/** The chart as a standalone SVG document. */
export function lineChart(chart: Chart): string {
  const plotW = WIDTH - PAD.left - PAD.right;
  const plotH = HEIGHT - PAD.top - PAD.bottom;
  const xs = chart.series.flatMap((s) => s.points.map(([x]) => x));
  const ysOf = (axis: 'left' | 'right') =>
    chart.series
      .filter((s) => (s.axis ?? 'left') === axis)
      .flatMap((s) => s.points.map(([, y]) => y));
  const xTicks = ticks(Math.max(...xs, 0));
  const yTicks = {
    left: ticks(Math.max(...ysOf('left'), 0)),
    right: ticks(Math.max(...ysOf('right'), 0)),
  };
  const xMax = xTicks.at(-1) ?? 1;
  const px = (x: number) => PAD.left + (x / xMax) * plotW;
  const py = (y: number, axis: 'left' | 'right') =>
    PAD.top + plotH - (y / (yTicks[axis].at(-1) ?? 1)) * plotH;
  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="system-ui, sans-serif" font-size="12">`,
    `<title>${esc(chart.title)}</title>`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="#fff"/>`,
    `<text x="${WIDTH / 2}" y="22" text-anchor="middle" font-size="15" font-weight="600">${esc(chart.title)}</text>`,
  );
  // Grid and left ticks.
  const leftLabels = tickLabels(yTicks.left);
  yTicks.left.forEach((t, i) => {
    const y = py(t, 'left');
    parts.push(
      `<line x1="${PAD.left}" y1="${y}" x2="${PAD.left + plotW}" y2="${y}" stroke="#e5e5e5"/>`,
      `<text x="${PAD.left - 6}" y="${y + 4}" text-anchor="end">${leftLabels[i]}</text>`,
    );
  });
  if (chart.right) {
    const rightLabels = tickLabels(yTicks.right);
    yTicks.right.forEach((t, i) => {
      parts.push(
        `<text x="${PAD.left + plotW + 6}" y="${py(t, 'right') + 4}">${rightLabels[i]}</text>`,
      );
    });
  }
  const xLabels = tickLabels(xTicks);
  xTicks.forEach((t, i) => {
    const x = px(t);
    parts.push(
      `<line x1="${x}" y1="${PAD.top + plotH}" x2="${x}" y2="${PAD.top + plotH + 4}" stroke="#333"/>`,
      `<text x="${x}" y="${PAD.top + plotH + 18}" text-anchor="middle">${xLabels[i]}</text>`,
    );
  });
  parts.push(
    `<rect x="${PAD.left}" y="${PAD.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#333"/>`,
    `<text x="${PAD.left + plotW / 2}" y="${PAD.top + plotH + 38}" text-anchor="middle">${esc(chart.x.label)}</text>`,
    `<text transform="translate(18 ${PAD.top + plotH / 2}) rotate(-90)" text-anchor="middle">${esc(chart.left.label)}</text>`,
  );
  if (chart.right) {
    parts.push(
      `<text transform="translate(${WIDTH - 16} ${PAD.top + plotH / 2}) rotate(90)" text-anchor="middle">${esc(chart.right.label)}</text>`,
    );
  }
  for (const s of chart.series) {
    const axis = s.axis ?? 'left';
    const points = [...s.points].sort((a, b) => a[0] - b[0]);
    const path = points.map(([x, y]) => `${px(x).toFixed(1)},${py(y, axis).toFixed(1)}`).join(' ');
    parts.push(
      `<polyline points="${path}" fill="none" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/>`,
    );
    for (const [x, y] of points) {
      parts.push(
        `<circle cx="${px(x).toFixed(1)}" cy="${py(y, axis).toFixed(1)}" r="3" fill="${s.color}"><title>${esc(`${s.name}: ${label(x)} → ${label(y)}`)}</title></circle>`,
      );
    }
  }
  // Legend, top left inside the plot.
  chart.series.forEach((s, i) => {
    const y = PAD.top + 14 + i * 16;
    parts.push(
      `<line x1="${PAD.left + 10}" y1="${y - 4}" x2="${PAD.left + 30}" y2="${y - 4}" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/>`,
      `<text x="${PAD.left + 36}" y="${y}">${esc(s.name)}</text>`,
    );
  });
  if (chart.note) {
    parts.push(
      `<text x="${WIDTH / 2}" y="${HEIGHT - 10}" text-anchor="middle" font-size="10" fill="#666">${esc(chart.note)}</text>`,
    );
  }
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
