/**
 * Prometheus metrics: what the server counts (requests by route pattern and status, their
 * latency, sockets open, messages sent and delivered, rate-limit refusals), and that
 * `messenger serve --metrics-port` serves them on a port of their own, never on the API's.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, it } from 'node:test';
import { RedisMessenger } from '../src/index.js';
import { createServer, ServerMetrics } from '../src/server/index.js';
import { type RedisServer, startRedisServer } from './support/redis-server.js';
import { api, exitOf, liveClient, servingUrl, spawnServe } from './support/serve-process.js';
import { eventually, within } from './support/wait.js';

const PASSWORD = 'correct horse battery staple';

let redis: RedisServer;

before(async () => {
  redis = await startRedisServer();
});
after(async () => {
  await redis?.stop();
});

/** The value of one series in Prometheus text (`name{labels} value`), or 0 when absent. */
function seriesValue(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}

it('counts requests by route pattern, sockets, messages sent and delivered, and refusals', async () => {
  const messenger = await RedisMessenger.connect({
    url: redis.url,
    namespace: `metrics-${randomUUID()}`,
  });
  const metrics = new ServerMetrics({ processMetrics: false });
  const server = await createServer({
    messenger,
    origins: [],
    metrics,
    rateLimits: { sendBurst: 3, sendsPerSecond: 0.001 },
  });
  try {
    await server.listen({ port: 0, host: '127.0.0.1' });
    const address = server.server.address();
    const base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    const [alice, bob] = await Promise.all(
      ['alice', 'bob'].map(async (name) => {
        const reply = await api(base, 'POST', '/register', undefined, {
          username: `${name}${randomUUID().slice(0, 6)}`,
          password: PASSWORD,
        });
        assert.equal(reply.status, 201);
        return { username: reply.json.user.username as string, token: reply.json.token as string };
      }),
    );
    if (!alice || !bob) throw new Error('two users');
    const live = await liveClient(base, bob.token);
    assert.equal(seriesValue(await metrics.text(), 'messenger_live_sockets'), 1);

    const id = randomUUID();
    const first = await api(base, 'PUT', `/messages/${id}`, alice.token, {
      to: bob.username,
      text: 'a secret text',
    });
    assert.equal(first.status, 201);
    const retry = await api(base, 'PUT', `/messages/${id}`, alice.token, {
      to: bob.username,
      text: 'a secret text',
    });
    assert.equal(retry.status, 200, 'a retry stores nothing new');
    assert.equal(
      (await api(base, 'POST', '/messages', alice.token, { to: bob.username, text: 'two' })).status,
      201,
    );
    const refused = await api(base, 'POST', '/messages', alice.token, {
      to: bob.username,
      text: '3',
    });
    assert.equal(refused.status, 429);
    await eventually(() => live.messages().length === 2, 5000, 'both messages live');
    assert.equal(
      (await api(base, 'GET', `/users/nobody-${randomUUID().slice(0, 4)}`, alice.token)).status,
      404,
    );

    const text = await metrics.text();
    assert.equal(seriesValue(text, 'messenger_messages_sent_total'), 2);
    assert.equal(seriesValue(text, 'messenger_messages_delivered_total'), 2);
    assert.equal(seriesValue(text, 'messenger_rate_limited_total{in="http"}'), 1);
    assert.equal(
      seriesValue(
        text,
        'messenger_http_requests_total{method="PUT",route="/api/v1/messages/:id",status="201"}',
      ),
      1,
    );
    assert.equal(
      seriesValue(
        text,
        'messenger_http_requests_total{method="PUT",route="/api/v1/messages/:id",status="200"}',
      ),
      1,
    );
    assert.equal(
      seriesValue(
        text,
        'messenger_http_requests_total{method="GET",route="/api/v1/users/:user",status="404"}',
      ),
      1,
    );
    assert.equal(
      seriesValue(
        text,
        'messenger_http_request_duration_seconds_count{method="PUT",route="/api/v1/messages/:id"}',
      ),
      2,
    );
    // Patterns only: no id, name or text of anyone in the figures.
    for (const secret of [id, bob.username, 'a secret text'])
      assert.ok(!text.includes(secret), `the metrics hold ${secret}`);

    live.socket.close();
    await eventually(() => live.closed.code !== undefined, 5000, 'the socket to close');
    assert.equal(seriesValue(await metrics.text(), 'messenger_live_sockets'), 0);
  } finally {
    await server.close();
    await messenger.close();
  }
});

it('serve --metrics-port serves /metrics apart from the API; without it there are none', async () => {
  const child = spawnServe(['--redis', redis.url, '--port', '0', '--metrics-port', '0']);
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  try {
    const base = await servingUrl(child);
    await eventually(
      () => /Metrics on http:\/\/\S+\/metrics/.test(stderr),
      5000,
      'the metrics URL',
    );
    const scrapeUrl = /Metrics on (http:\/\/\S+\/metrics)/.exec(stderr)?.[1] as string;
    assert.equal((await fetch(`${base}/healthz`)).status, 200);
    const scraped = await fetch(scrapeUrl);
    assert.equal(scraped.status, 200);
    const text = await scraped.text();
    assert.match(
      text,
      /messenger_http_requests_total\{method="GET",route="\/healthz",status="200"\} 1/,
    );
    assert.match(text, /process_resident_memory_bytes/);
    assert.equal((await fetch(`${base}/metrics`)).status, 404, 'not on the public port');
  } finally {
    child.kill('SIGTERM');
    assert.equal(await within(10_000, exitOf(child), 'serve to stop'), 0);
  }
});
