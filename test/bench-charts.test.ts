/**
 * The benchmarks' SVG charts (bench/charts.ts): round ticks that cover the largest value,
 * every point drawn where its figures put it, on its own axis, and text escaped.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { lineChart, tickLabels, ticks } from '../bench/charts.js';

it('ticks are round steps from 0 that reach the largest value', () => {
  assert.deepEqual(ticks(4.3), [0, 1, 2, 3, 4, 5]);
  assert.deepEqual(ticks(1878), [0, 500, 1000, 1500, 2000]);
  assert.deepEqual(ticks(10_000), [0, 2000, 4000, 6000, 8000, 10_000]);
  assert.deepEqual(ticks(0), [0, 1]);
});

it('labels an axis alike: in thousands when it reaches 10,000, else in full', () => {
  assert.deepEqual(tickLabels(ticks(10_000)), ['0', '2k', '4k', '6k', '8k', '10k']);
  assert.deepEqual(tickLabels(ticks(12_500)), ['0', '5k', '10k', '15k']);
  assert.deepEqual(tickLabels(ticks(1878)), ['0', '500', '1,000', '1,500', '2,000']);
  assert.deepEqual(tickLabels(ticks(4.3)), ['0', '1', '2', '3', '4', '5']);
});

it('draws each point at its figures, left and right axes apart, with the text escaped', () => {
  const svg = lineChart({
    title: 'p50 & p99 <ms>',
    x: { label: 'rate' },
    left: { label: 'ms' },
    right: { label: 's' },
    series: [
      {
        name: 'left',
        color: '#000',
        points: [
          [0, 0],
          [1000, 100],
        ],
      },
      { name: 'right', color: '#111', axis: 'right', points: [[1000, 10]] },
    ],
  });
  assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  assert.ok(svg.includes('<title>p50 &amp; p99 &lt;ms&gt;</title>'));
  const circles = [...svg.matchAll(/<circle cx="([\d.]+)" cy="([\d.]+)"/g)].map((m) => [
    Number(m[1]),
    Number(m[2]),
  ]);
  // The plot spans x 72..568 and y 48..288 (640 × 360, margins 72/72/48/72).
  assert.deepEqual(circles, [
    [72, 288],
    [568, 48],
    [568, 48],
  ]);
  assert.equal(svg.match(/<polyline /g)?.length, 2);
});
