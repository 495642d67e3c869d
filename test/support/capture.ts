/** An Output for in-process CLI tests: collects what a command prints. */
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

export function capture(): Captured {
  const out: string[] = [];
  const err: string[] = [];
  return {
    output: createOutput(collector(out), collector(err), {}),
    stdout: () => out.join(''),
    stderr: () => err.join(''),
  };
}
