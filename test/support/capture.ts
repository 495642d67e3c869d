/** Collecting output in-process: an Output for CLI tests, a log stream's lines for server tests. */
import { Writable } from 'node:stream';
import { createOutput, type Output } from '../../src/cli/output.js';

export interface Captured {
  output: Output;
  stdout(): string;
  stderr(): string;
}

function collector(chunks: string[]): Writable {
  return new Writable({
    write(chunk, _encoding, done) {
      chunks.push(String(chunk));
      done();
    },
  });
}

/**
 * A stream (a server's `logger.stream`) that keeps each line it is given in `lines`, and
 * hands each chunk to `also` when given.
 */
export function lineCollector(lines: string[], also?: (text: string) => void): Writable {
  return new Writable({
    write(chunk, _encoding, done) {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      also?.(String(chunk));
      done();
    },
  });
}

export function capture(): Captured {
  const out: string[] = [];
  const err: string[] = [];
  return {
    output: createOutput(collector(out), collector(err), {}),
    stdout: () => out.join(''),
    stderr: () => err.join(''),
  };
}
