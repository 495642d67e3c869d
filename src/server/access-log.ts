/**
 * The server's access log: one line per request, written in batches. Fastify's own
 * logging writes two lines per request ("incoming request", "request completed"), each a
 * write system call of its own on a pipe; under load those lines were an eighth of the
 * server's samples (docs/performance.md, "The access log: one line per request").
 * @module
 */
import { randomBytes } from 'node:crypto';
import { type FastifyReply, type FastifyRequest, LogController } from 'fastify';

/**
 * One line per request, when it is answered: what Fastify's two lines said together (the
 * request id, method, URL, host, address and port by Fastify's serializers, the status
 * and the time taken), never a header or a body. Errors keep Fastify's own lines.
 */
export class OneLinePerRequest extends LogController {
  override incomingRequest(): void {
    // Said at the end, with the answer: one line instead of two.
  }

  override requestCompleted(
    error: Error | null | undefined,
    request: FastifyRequest,
    reply: FastifyReply,
  ): void {
    if (this.isLogDisabled(request)) return;
    if (error) {
      reply.log.error(
        { req: request, res: reply, err: error, responseTime: reply.elapsedTime },
        'request errored',
      );
    } else {
      reply.log.info(
        { req: request, res: reply, responseTime: reply.elapsedTime },
        'request completed',
      );
    }
  }
}

/** A destination for log lines that writes what a turn of the event loop logged at once. */
export interface BatchedLines {
  /** Takes one line (pino hands over each line whole, with its newline). */
  write(line: string): boolean;
  /** Writes what is waiting now (at exit: nothing logged may be lost). */
  flush(): void;
}

/**
 * Log lines for `out`, gathered and written once a turn of the event loop: under load
 * the lines of many requests go in one write instead of one write each; alone, a line
 * goes out at the end of its turn. `flush` must be called at exit (`messenger serve`
 * does on `exit`); on Linux a pipe or file `write` on standard error is synchronous, so
 * what was flushed is written when the process ends.
 */
export function batchedLines(out: { write(text: string): unknown }): BatchedLines {
  let waiting: string[] = [];
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    if (waiting.length === 0) return;
    const text = waiting.join('');
    waiting = [];
    out.write(text);
  };
  return {
    write(line) {
      waiting.push(line);
      if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
      return true;
    },
    flush,
  };
}

/**
 * Request ids for log lines: a random prefix drawn once per server, then a counter, so
 * that ids are unique across processes and restarts, as random UUIDs were, at a
 * fraction of their cost (a UUID per request was a hundredth of a send's CPU).
 * Never a token, a password or a text in them.
 */
export function requestIds(): () => string {
  const prefix = randomBytes(6).toString('hex');
  let count = 0;
  return () => `${prefix}-${(++count).toString(36)}`;
}
