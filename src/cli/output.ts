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
  /** Colours, or plain text when standard output is not a terminal or NO_COLOR is set. */
  readonly colors: Colors;
  /** Draws `done/total` as a bar on a terminal's standard error; silent elsewhere. */
  progress(label: string, done: number, total: number): void;
}

export function createOutput(
  stdout: NodeJS.WritableStream & { isTTY?: boolean } = process.stdout,
  stderr: NodeJS.WritableStream & { isTTY?: boolean } = process.stderr,
  env: NodeJS.ProcessEnv = process.env,
): Output {
  const useColor = Boolean(stdout.isTTY) && !env.NO_COLOR;
  const colors = pc.createColors(useColor);
  return {
    line: (text = '') => stdout.write(`${text}\n`),
    notice: (text) => stderr.write(`${text}\n`),
    colors,
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
