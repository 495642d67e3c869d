/**
 * Everything the CLI prints goes through here: colours only on a terminal and never with
 * NO_COLOR, times in the local zone, user text made safe to print, a progress bar.
 * @module
 */
import pc from 'picocolors';

type Colors = ReturnType<typeof pc.createColors>;

export interface Output {
  /** A line on standard output: what the command produces. */
  line(text?: string): void;
  /** A line on standard error: notices and errors, never data. */
  notice(text: string): void;
  /** Colours for `line`: plain when standard output is not a terminal or NO_COLOR is set. */
  readonly colors: Colors;
  /** Colours for `notice`: plain when standard error is not a terminal or NO_COLOR is set. */
  readonly noticeColors: Colors;
  /** Draws `done/total` as a bar on a terminal's standard error; silent elsewhere. */
  progress(label: string, done: number, total: number): void;
}

export function createOutput(
  stdout: NodeJS.WritableStream & { isTTY?: boolean } = process.stdout,
  stderr: NodeJS.WritableStream & { isTTY?: boolean } = process.stderr,
  env: NodeJS.ProcessEnv = process.env,
): Output {
  const colorsFor = (stream: { isTTY?: boolean }) =>
    pc.createColors(Boolean(stream.isTTY) && !env.NO_COLOR);
  // Whoever reads standard output may stop early (`messenger user list | head -1`): the
  // output then ends quietly, as in other CLIs, instead of an unhandled EPIPE and a stack.
  let stdoutClosed = false;
  stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE' && error.code !== 'ERR_STREAM_DESTROYED') throw error;
    stdoutClosed = true;
  });
  return {
    line: (text = '') => {
      if (!stdoutClosed) stdout.write(`${text}\n`);
    },
    notice: (text) => stderr.write(`${text}\n`),
    colors: colorsFor(stdout),
    noticeColors: colorsFor(stderr),
    progress(label, done, total) {
      if (!stderr.isTTY) return;
      const width = 30;
      const filled = total === 0 ? width : Math.round((done / total) * width);
      const bar = `${'█'.repeat(filled)}${'░'.repeat(width - filled)}`;
      stderr.write(`\r${label} ${bar} ${done}/${total}${done >= total ? '\n' : ''}`);
    },
  };
}

/** A time as the person running the command reads it: local, to the second. */
export function formatTime(date: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
}

/**
 * Text from other people, made safe for a terminal: control characters (which could move
 * the cursor or change colours) are shown as escapes; newlines and tabs stay.
 */
export function printable(text: string): string {
  return text.replace(
    /(?![\n\t])\p{Cc}/gu,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/** The start of a text on one line, cut on whole characters, with "…" when cut. */
export function preview(text: string, length: number): string {
  const characters = [...printable(text).replace(/\s+/g, ' ')];
  return characters.length <= length
    ? characters.join('')
    : `${characters.slice(0, length - 1).join('')}…`;
}

// Characters a terminal draws two columns wide: East Asian wide forms and emoji.
const WIDE =
  /[\u1100-\u115F\u2E80-\uA4CF\uAC00-\uD7A3\uF900-\uFAFF\uFE30-\uFE4F\uFF00-\uFF60\uFFE0-\uFFE6]|\p{Extended_Pictographic}/u;
// Characters that take no column: combining marks, joiners, variation selectors.
const ZERO_WIDTH = /[\p{Mn}\p{Me}\p{Cf}]/u;

// Colour codes, which take no column either.
const COLOR_CODE = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g');

/** How many terminal columns a text takes (close enough to align tables). */
export function displayWidth(text: string): number {
  let width = 0;
  for (const character of text.replace(COLOR_CODE, '')) {
    if (ZERO_WIDTH.test(character)) continue;
    width += WIDE.test(character) ? 2 : 1;
  }
  return width;
}

/** A word of a command line as a shell reads it: quoted when it holds anything unusual. */
export function shellWord(word: string): string {
  return /^[\w@%+=:,./-]+$/u.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}
