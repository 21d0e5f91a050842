import { join } from 'node:path';
import { runCli } from '../../src/cli/main.js';
import type { FaultCluster } from './cluster.js';
import type { CaRecord, WriteRecord } from './workload.js';

interface FeedEvent {
  seq: number;
  type: string;
  by: string;
  rid?: string;
  origin?: { dc: string; addr: string; req: string };
  data: Record<string, unknown>;
}

export interface Replication {
  AppliedIndex: number;
  LagEvents: number;
  Halted: boolean;
  HaltReason: string | null;
}

async function getJson<T>(url: string): Promise<T> {
  const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  if (!res.ok) throw new Error(`${url}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

/** Every event a datacenter has applied, from sequence 1, through its own API. */
export async function allEvents(base: string): Promise<FeedEvent[]> {
  const out: FeedEvent[] = [];
  for (;;) {
    const page = await getJson<FeedEvent[]>(`${base}/v1/trellis/events?from=${out.length + 1}&limit=5000&wait=1ms`);
    out.push(...page);
    if (page.length < 5000) return out;
  }
}

/** Waits until every datacenter applied everything the primary's stream holds; resolves the time it took. */
export async function waitForConvergence(c: FaultCluster, timeoutMs = 90_000): Promise<number> {
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    try {
      const statuses = await Promise.all(c.datacenters.map((dc) => getJson<Replication>(`${c.url(dc)}/v1/trellis/replication`)));
      const primary = statuses[0]!;
      if (statuses.every((s) => !s.Halted && s.LagEvents === 0 && s.AppliedIndex === primary.AppliedIndex)) return Date.now() - started;
    } catch {
      // an agent still starting
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`datacenters did not converge within ${timeoutMs} ms`);
}

export interface CheckResult {
  readonly events: number;
  readonly writes: number;
  readonly acked: number;
  readonly caChanges: number;
  readonly caAcked: number;
  /** Acknowledged writes missing (or with another action) in a datacenter's view. */
  readonly lost: Record<string, string[]>;
  /** Requests recorded more than once in the log. */
  readonly duplicated: string[];
  /** Events of a secondary's log that differ from the primary's at the same sequence (or are missing). */
  readonly reordered: Record<string, number>;
  /** Datacenters whose live view differs from a replay of their own stream. */
  readonly divergent: Record<string, string>;
}

/** Reads every datacenter after healing and counts what must be zero. */
export async function check(c: FaultCluster, writes: readonly WriteRecord[], ca: readonly CaRecord[], replayDir: string): Promise<CheckResult> {
  const primaryEvents = await allEvents(c.url(c.primary));
  const lost: Record<string, string[]> = {};
  const reordered: Record<string, number> = {};
  const divergent: Record<string, string> = {};
  const acked = writes.filter((w) => w.acked);
  for (const dc of c.datacenters) {
    const list = await getJson<Array<{ SourceName: string; DestinationName: string; Action: string }>>(`${c.url(dc)}/v1/connect/intentions`);
    const byPair = new Map(list.map((i) => [`${i.SourceName}\u0000${i.DestinationName}`, i.Action]));
    lost[dc] = acked.filter((w) => byPair.get(`${w.source}\u0000${w.destination}`) !== w.action).map((w) => w.req);
    if (dc !== c.primary) {
      const theirs = await allEvents(c.url(dc));
      let differ = Math.abs(theirs.length - primaryEvents.length);
      for (let i = 0; i < Math.min(theirs.length, primaryEvents.length); i++) if (JSON.stringify(theirs[i]) !== JSON.stringify(primaryEvents[i])) differ++;
      reordered[dc] = differ;
    }
    const err: string[] = [];
    const creds = c.nats.access.get(dc)!.reader.file;
    const code = await runCli(
      ['replay', '-data-dir', c.agents.get(dc)!.dataDir, '-from-datacenter', dc, '-nats-url', c.nats.servers.get(dc)!.url, '-nats-creds', creds, '-out', join(replayDir, `${dc}-${Date.now()}`), '-verify'],
      { env: {}, stdout: () => undefined, stderr: (t) => err.push(t) },
    );
    if (code !== 0) divergent[dc] = err.join('').trim() || `exit ${code}`;
  }
  const perRequest = new Map<string, number>();
  for (const e of primaryEvents) if (e.origin && (e.type.startsWith('Intention') || e.type === 'CAConfigSet')) perRequest.set(e.origin.req, (perRequest.get(e.origin.req) ?? 0) + 1);
  const duplicated = [...perRequest].filter(([, n]) => n > 1).map(([req]) => req);
  return { events: primaryEvents.length, writes: writes.length, acked: acked.length, caChanges: ca.length, caAcked: ca.filter((r) => r.acked).length, lost, duplicated, reordered, divergent };
}
