/**
 * Load for the server's fault tests: people as API clients (MessengerClient, through a
 * balancer), each listening live and sending to the others in a loop, and the tally a
 * person would see: of every acknowledged message, whether its receiver was shown it,
 * and how many times.
 */
import { randomUUID } from 'node:crypto';
import { WebSocket } from 'ws';
import { type LiveSubscription, MessengerClient } from '../../../src/client/index.js';
import { noteSecrets } from '../../support/suite-logs.js';
import { sleep } from './faults.js';

export interface Person {
  username: string;
  client: MessengerClient;
  live: LiveSubscription;
  /** Message id → times the handler was called with it. */
  shown: Map<string, number>;
  /** When the live connection dropped and came back (ms since the epoch). */
  outages: { from: number; to?: number }[];
}

export interface ChatLoad {
  people: Person[];
  /** Acknowledged sends: message id → receiver's username. */
  acknowledged: Map<string, string>;
  /** Sends that failed after all their retries (ambiguous: may be stored). */
  failed: number;
  /** Stops the senders and waits for them. */
  stop(): Promise<void>;
  /** Lost and shown-twice counts of acknowledged messages, now. */
  tally(): { acknowledged: number; lost: number; twice: number };
}

export async function signUpPeople(server: string, count: number): Promise<Person[]> {
  const people: Person[] = [];
  for (let i = 0; i < count; i++) {
    const username = `p${randomUUID().slice(0, 8)}`;
    const password = `pw ${randomUUID()}`;
    const client = await MessengerClient.register(server, username, password, {
      WebSocket: WebSocket as never,
      requestTimeoutMs: 10_000,
      sendDeadlineMs: 30_000,
    });
    noteSecrets(password, client.token);
    const shown = new Map<string, number>();
    const outages: Person['outages'] = [];
    const live = await client.subscribe(
      (message) => void shown.set(message.id, (shown.get(message.id) ?? 0) + 1),
      {
        backoff: { firstMs: 100, maxMs: 1000 },
        onConnectionChange: (connected) => {
          if (!connected) outages.push({ from: Date.now() });
          else {
            const last = outages.at(-1);
            if (last && last.to === undefined) last.to = Date.now();
          }
        },
        onError: () => {},
      },
    );
    people.push({ username, client, live, shown, outages });
  }
  return people;
}

/** Every person sends to the next, one message at a time, every `pauseMs`, until stopped. */
export function startChatLoad(people: Person[], pauseMs = 20): ChatLoad {
  const acknowledged = new Map<string, string>();
  let running = true;
  let failed = 0;
  const senders = people.map(async (person, i) => {
    const to = people[(i + 1) % people.length] as Person;
    for (let n = 0; running; n++) {
      const id = randomUUID();
      try {
        await person.client.sendMessage(to.username, `load ${n}`, { messageId: id });
        acknowledged.set(id, to.username);
      } catch {
        failed++;
      }
      await sleep(pauseMs);
    }
  });
  const byName = new Map(people.map((p) => [p.username, p]));
  return {
    people,
    acknowledged,
    get failed() {
      return failed;
    },
    async stop() {
      running = false;
      await Promise.all(senders);
    },
    tally() {
      let lost = 0;
      let twice = 0;
      for (const [id, to] of acknowledged) {
        const times = byName.get(to)?.shown.get(id) ?? 0;
        if (times === 0) lost++;
        if (times > 1) twice++;
      }
      return { acknowledged: acknowledged.size, lost, twice };
    },
  };
}

/** The longest outage any person's live connection had, in ms (open ones count to now). */
export function longestOutage(people: Person[]): number {
  const now = Date.now();
  return Math.max(0, ...people.flatMap((p) => p.outages.map((o) => (o.to ?? now) - o.from)));
}
