/**
 * Messages being sent. Each shows at once as pending; it goes with an id chosen here, so
 * that while the network is down it is tried again with the same id, and stored once,
 * however many tries it takes. A refusal (too long, rate-limited) makes it failed, with
 * the reason, until it is retried (same id again) or discarded.
 * @module
 */
import {
  type MessengerClient,
  ServerUnavailableError,
  ServerUnreachableError,
  SessionEndedError,
} from '../client/index.js';
import type { Message, User } from '../index.js';
import { reasonOf } from './reasons.js';

export interface Outgoing {
  id: string;
  to: User;
  text: string;
  /** When it was typed: where it sits until the server gives its time. */
  typedAt: Date;
  state: 'pending' | 'failed';
  /** Why it failed. */
  why?: string;
}

export interface OutboxEvents {
  /** It changed (pending, failed) or was discarded (`gone`). */
  changed(outgoing: Outgoing, gone?: boolean): void;
  /** It was stored: the server's message replaces it. */
  stored(message: Message): void;
  sessionEnded(): void;
}

/** How long to wait before trying again when the network was down and did not come back. */
const RETRY_EVERY_MS = 3000;

export class Outbox {
  readonly #client: MessengerClient;
  readonly #events: OutboxEvents;
  readonly #waiting = new Map<string, Outgoing>();

  constructor(client: MessengerClient, events: OutboxEvents) {
    this.#client = client;
    this.#events = events;
  }

  /** What is pending or failed in the conversation with `userId`, oldest first. */
  to(userId: string): Outgoing[] {
    return [...this.#waiting.values()].filter((outgoing) => outgoing.to.id === userId);
  }

  send(to: User, text: string): Outgoing {
    const outgoing: Outgoing = {
      id: crypto.randomUUID(),
      to,
      text,
      typedAt: new Date(),
      state: 'pending',
    };
    this.#waiting.set(outgoing.id, outgoing);
    this.#events.changed(outgoing);
    void this.#deliver(outgoing);
    return outgoing;
  }

  retry(id: string): void {
    const outgoing = this.#waiting.get(id);
    if (outgoing?.state !== 'failed') return;
    outgoing.state = 'pending';
    delete outgoing.why;
    this.#events.changed(outgoing);
    void this.#deliver(outgoing);
  }

  discard(id: string): void {
    const outgoing = this.#waiting.get(id);
    if (outgoing?.state !== 'failed') return;
    this.#waiting.delete(id);
    this.#events.changed(outgoing, true);
  }

  async #deliver(outgoing: Outgoing): Promise<void> {
    for (;;) {
      try {
        // The client retries by itself for a while (same id); past that, so does this loop.
        const { message } = await this.#client.send(outgoing.to.id, outgoing.text, {
          messageId: outgoing.id,
        });
        this.#waiting.delete(outgoing.id);
        this.#events.stored(message);
        return;
      } catch (error) {
        if (error instanceof SessionEndedError) return this.#events.sessionEnded();
        if (error instanceof ServerUnreachableError || error instanceof ServerUnavailableError) {
          await networkBack(RETRY_EVERY_MS);
          continue;
        }
        outgoing.state = 'failed';
        outgoing.why = reasonOf(error, 'send');
        this.#events.changed(outgoing);
        return;
      }
    }
  }
}

/** Resolves when the browser is online again, or after `ms` if it says it is online. */
function networkBack(ms: number): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      window.removeEventListener('online', done);
      resolve();
    };
    const timer = setTimeout(() => (navigator.onLine ? done() : undefined), ms);
    window.addEventListener('online', done);
  });
}
