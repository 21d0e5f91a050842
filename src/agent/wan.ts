import type { NatsConnection, Subscription } from '@nats-io/nats-core';
import { Gauge, type Registry } from 'prom-client';
import { errorMessage, type Logger } from '../common/index.js';
import type { RpcClient, RpcServer } from '../rpc/index.js';

/** One datacenter as this one sees it across the WAN. */
export interface WanPeer {
  readonly Datacenter: string;
  /** Median of the last round trips (request/reply over NATS), ms; 0 for this datacenter, null before the first. */
  readonly RTTMs: number | null;
  readonly Reachable: boolean;
  readonly LastSeenAt: string | null;
}

export interface WanMonitor {
  /** Every datacenter ever heard from (remembered across restarts), this one included. */
  known(): ReadonlySet<string>;
  /** Known datacenters, this one first, then by median RTT; unmeasured or unreachable ones last. */
  byRtt(): string[];
  peers(): WanPeer[];
  stop(): void;
}

export interface WanMonitorDeps {
  readonly nc: NatsConnection;
  readonly datacenter: string;
  readonly primary: string;
  readonly rpcClient: RpcClient;
  readonly rpcServer: RpcServer;
  readonly remembered: readonly string[];
  readonly remember: (datacenter: string) => Promise<void>;
  readonly logger: Logger;
  readonly registry?: Registry;
  /** @default 2000 */
  readonly intervalMs?: number;
  /** A peer silent for longer is unreachable. @default 3 × intervalMs + 1 s */
  readonly staleMs?: number;
}

/** `trellis.wan.announce.<dc>`: NATS permissions let each datacenter publish only under its own name. */
const ANNOUNCE_PREFIX = 'trellis.wan.announce';
const SAMPLES = 9;

/**
 * Datacenter membership and round-trip times over NATS: every agent announces itself on a subject
 * that crosses the leafnode links, answers `wan.ping`, and pings every datacenter it knows. The
 * median RTT orders `/v1/catalog/datacenters` and prepared-query failover (NearestN).
 */
export function createWanMonitor(deps: WanMonitorDeps): WanMonitor {
  const { nc, datacenter, primary, rpcClient, rpcServer, logger, intervalMs = 2000 } = deps;
  const staleMs = deps.staleMs ?? 3 * intervalMs + 1000;
  const log = logger.child({ component: 'wan' });
  const known = new Set<string>([datacenter, primary, ...deps.remembered]);
  const samples = new Map<string, number[]>();
  const lastSeen = new Map<string, number>([[datacenter, Date.now()]]);
  const rttGauge = new Gauge({ name: 'trellis_wan_rtt_seconds', help: 'Median request/reply round trip to another datacenter', labelNames: ['peer'], registers: deps.registry ? [deps.registry] : [] });
  let stopped = false;

  const learn = (dc: string) => {
    if (!/^[a-z0-9][a-z0-9_-]{0,62}$/.test(dc) || known.has(dc)) return;
    known.add(dc);
    log.info({ peer: dc }, 'datacenter discovered');
    deps.remember(dc).catch((err: unknown) => log.warn({ err: errorMessage(err) }, 'could not remember a datacenter'));
  };
  for (const dc of known) if (dc !== datacenter) deps.remember(dc).catch(() => undefined);

  rpcServer.serve('wan', 'ping', async (_payload, caller) => {
    learn(caller);
    return { datacenter, known: [...known] };
  });
  const sub: Subscription = nc.subscribe(`${ANNOUNCE_PREFIX}.*`, {
    callback: (err, msg) => {
      if (err) return;
      // The subject's token, not the payload: the server enforced it.
      const dc = msg.subject.slice(ANNOUNCE_PREFIX.length + 1);
      if (dc !== datacenter) learn(dc);
    },
  });

  async function ping(dc: string): Promise<void> {
    const start = performance.now();
    try {
      const answer = await rpcClient.call<{ known?: unknown }>(dc, 'wan', 'ping', {}, { timeoutMs: Math.min(1000, intervalMs) });
      const rtt = performance.now() - start;
      const list = samples.get(dc) ?? [];
      list.push(rtt);
      if (list.length > SAMPLES) list.shift();
      samples.set(dc, list);
      lastSeen.set(dc, Date.now());
      rttGauge.set({ peer: dc }, median(list) / 1000);
      // Gossip: a peer's peers become ours (dc3 learns of dc2 through dc1).
      if (Array.isArray(answer.known)) for (const other of answer.known) if (typeof other === 'string' && other !== datacenter) learn(other);
    } catch {
      // unreachable this round: staleness marks it
    }
  }

  let timer: NodeJS.Timeout | undefined;
  const tick = () => {
    if (stopped) return;
    nc.publish(`${ANNOUNCE_PREFIX}.${datacenter}`, datacenter);
    lastSeen.set(datacenter, Date.now());
    void Promise.all([...known].filter((dc) => dc !== datacenter).map(ping)).finally(() => {
      if (stopped) return;
      timer = setTimeout(tick, intervalMs);
      timer.unref();
    });
  };
  tick();

  const reachable = (dc: string) => dc === datacenter || Date.now() - (lastSeen.get(dc) ?? 0) <= staleMs;
  const rttOf = (dc: string): number | null => {
    if (dc === datacenter) return 0;
    const list = samples.get(dc);
    return list && list.length > 0 ? median(list) : null;
  };

  return {
    known: () => known,
    byRtt() {
      const rank = (dc: string) => (reachable(dc) ? (rttOf(dc) ?? Number.MAX_SAFE_INTEGER) : Number.POSITIVE_INFINITY);
      return [...known].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
    },
    peers() {
      return this.byRtt().map((dc) => {
        const rtt = rttOf(dc);
        const seen = lastSeen.get(dc);
        return { Datacenter: dc, RTTMs: rtt === null ? null : Math.round(rtt * 1000) / 1000, Reachable: reachable(dc), LastSeenAt: seen === undefined ? null : new Date(seen).toISOString() };
      });
    },
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      sub.unsubscribe();
    },
  };
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}
