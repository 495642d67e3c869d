/**
 * The server bench's verdict (issue 15): each goal the issue names, checked against the
 * run's own figures. `npm run bench:server` prints them last and exits 1 when one is
 * missed, so a run that lost a message, left sockets out or fell short says so in its
 * exit code, not only in a table someone has to read.
 */

/** The figures the goals are checked against (a subset of the bench's results). */
export interface ServerFigures {
  /** Requests of the throughput test not answered 2xx. */
  refused: number;
  /** One server's share of the library's send rate (median over the rounds). */
  oneServerShare: number;
  connections: { asked: number; held: number; redisConnectionsWithSockets: number };
  latency: readonly { rate: number; lost: number; doubled: number; p99: number }[];
  reconnect: {
    sockets: number;
    reconnected: number;
    lost: number;
    doubled: number;
    serverUp: boolean;
  };
}

export interface Goal {
  goal: string;
  figure: string;
  met: boolean;
}

/** At most this many Redis connections for the server with every socket open: "a handful". */
export const REDIS_CONNECTIONS_AT_MOST = 4;
export const SHARE_AT_LEAST = 0.5;
export const P99_UNDER_MS = 20;
/** The rate the latency goal is at. */
export const P99_RATE = 1000;

export function serverGoals(figures: ServerFigures): Goal[] {
  const { connections: c, reconnect: r } = figures;
  const n = (x: number) => Math.round(x).toLocaleString('en');
  const lost = figures.latency.reduce((sum, l) => sum + l.lost, 0);
  const doubled = figures.latency.reduce((sum, l) => sum + l.doubled, 0);
  const atRate = figures.latency.find((l) => l.rate === P99_RATE);
  return [
    {
      goal: 'every throughput request answered 2xx',
      figure: `${n(figures.refused)} not`,
      met: figures.refused === 0,
    },
    {
      goal: `one server at least ${SHARE_AT_LEAST} of the library's send rate`,
      figure: figures.oneServerShare.toFixed(2),
      met: figures.oneServerShare >= SHARE_AT_LEAST,
    },
    {
      goal: 'every socket asked for connected and live',
      figure: `${n(c.held)} of ${n(c.asked)}`,
      met: c.held === c.asked,
    },
    {
      goal: `a handful of Redis connections (at most ${REDIS_CONNECTIONS_AT_MOST}) with every socket open`,
      figure: String(c.redisConnectionsWithSockets),
      met: c.redisConnectionsWithSockets <= REDIS_CONNECTIONS_AT_MOST,
    },
    {
      goal: `p99 under ${P99_UNDER_MS} ms at ${n(P99_RATE)}/s with ${n(c.held)} sockets open`,
      figure: atRate ? `${atRate.p99.toFixed(1)} ms` : 'not measured',
      met: atRate !== undefined && atRate.p99 < P99_UNDER_MS,
    },
    {
      goal: 'every message of the latency test delivered once',
      figure: `lost ${n(lost)}, doubled ${n(doubled)}`,
      met: lost === 0 && doubled === 0,
    },
    {
      goal: 'the storm: every socket back, nothing lost or doubled, the server up',
      figure: `${n(r.reconnected)} of ${n(r.sockets)} back, lost ${n(r.lost)}, doubled ${n(r.doubled)}, server ${r.serverUp ? 'up' : 'down'}`,
      met: r.reconnected === r.sockets && r.lost === 0 && r.doubled === 0 && r.serverUp,
    },
  ];
}
