/**
 * The server's figures in Prometheus's text format (prom-client): requests by route and
 * status, their latency, sockets open, messages sent and delivered, rate-limit refusals,
 * and the process's own (memory, CPU, event-loop lag). Off unless asked for: `messenger
 * serve --metrics-port` serves them on a port of their own, off the public one, since
 * they say how busy the service is and which routes people use.
 * @module
 */
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/** Where a rate limit refused: an HTTP request (429) or a live socket (closed with 4008). */
export type RefusedIn = 'http' | 'live';

export class ServerMetrics {
  /** Its own registry, not prom-client's global one: two servers in one process stay apart. */
  readonly registry = new Registry();
  readonly #requests = new Counter({
    name: 'messenger_http_requests_total',
    help: 'HTTP requests answered, by method, route pattern and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [this.registry],
  });
  readonly #latency = new Histogram({
    name: 'messenger_http_request_duration_seconds',
    help: 'Time to answer an HTTP request, by method and route pattern',
    labelNames: ['method', 'route'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });
  readonly #sent = new Counter({
    name: 'messenger_messages_sent_total',
    help: 'Messages stored through the API (a retry of one already stored is not counted)',
    registers: [this.registry],
  });
  readonly #delivered = new Counter({
    name: 'messenger_messages_delivered_total',
    help: 'Message frames written to live sockets (replays included)',
    registers: [this.registry],
  });
  readonly #refused = new Counter({
    name: 'messenger_rate_limited_total',
    help: 'Requests and sockets refused by a rate limit',
    labelNames: ['in'] as const,
    registers: [this.registry],
  });
  readonly #counters: (() => number)[] = [];

  constructor(options: { processMetrics?: boolean } = {}) {
    const counters = this.#counters;
    // Read when scraped, from the servers' own sets: nothing to keep in step.
    new Gauge({
      name: 'messenger_live_sockets',
      help: 'Live (WebSocket) connections open now',
      registers: [this.registry],
      collect() {
        this.set(counters.reduce((sum, count) => sum + count(), 0));
      },
    });
    if (options.processMetrics ?? true) collectDefaultMetrics({ register: this.registry });
  }

  /** Counts `count()` in the sockets open (a server calls this with its own set's size). */
  countSockets(count: () => number): void {
    this.#counters.push(count);
  }

  /** One answered request; `route` is the pattern (`/api/v1/messages/:id`), never the URL. */
  answered(method: string, route: string, status: number, seconds: number): void {
    this.#requests.inc({ method, route, status: String(status) });
    this.#latency.observe({ method, route }, seconds);
    if (status === 429) this.#refused.inc({ in: 'http' });
  }

  sent(): void {
    this.#sent.inc();
  }

  delivered(): void {
    this.#delivered.inc();
  }

  refused(where: RefusedIn): void {
    this.#refused.inc({ in: where });
  }

  /** Everything, in the text format Prometheus scrapes. */
  text(): Promise<string> {
    return this.registry.metrics();
  }
}

/**
 * A listener that answers `GET /metrics` and nothing else, for a port of its own. Not
 * listening yet: call `listen`.
 */
export function metricsListener(metrics: ServerMetrics): HttpServer {
  return createHttpServer((request, response) => {
    if (request.method !== 'GET' || request.url?.split('?')[0] !== '/metrics') {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('only GET /metrics here\n');
      return;
    }
    metrics.text().then(
      (text) => response.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text),
      () => response.writeHead(500).end(),
    );
  });
}
