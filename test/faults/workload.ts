/** One logical write: a unique intention, retried with the same request id until acknowledged or out of time. */
export interface WriteRecord {
  readonly req: string;
  readonly source: string;
  readonly destination: string;
  readonly action: 'allow' | 'deny';
  /** Datacenters the attempts went to, in order. */
  readonly tried: string[];
  acked: boolean;
  /** The last error seen (a refused or unanswered attempt). */
  lastError: string;
}

export interface CaRecord {
  readonly req: string;
  readonly ttl: string;
  acked: boolean;
}

export interface WorkloadOptions {
  readonly urls: ReadonlyMap<string, string>;
  readonly primary: string;
  readonly round: number;
  readonly clients: number;
  /** Writes are started for this long. */
  readonly durationMs: number;
  /** A write not acknowledged by then is given up (counted as not acknowledged: it may or may not be applied). */
  readonly giveUpMs: number;
  readonly random: () => number;
}

const DESTINATIONS = ['db', 'api', 'cache', 'web'];

async function attempt(url: string, method: string, path: string, body: unknown, req: string): Promise<{ ok: boolean; retry: boolean; error: string }> {
  try {
    const res = await fetch(`${url}${path}`, { method, headers: { 'X-Request-ID': req }, body: JSON.stringify(body), signal: AbortSignal.timeout(4000) });
    const text = await res.text();
    if (res.ok) return { ok: true, retry: false, error: '' };
    // 5xx, 429, 408: try again; any other 4xx is a bug in the workload or the server.
    return { ok: false, retry: res.status >= 500 || res.status === 429 || res.status === 408, error: `${res.status} ${text.slice(0, 200)}` };
  } catch (err) {
    return { ok: false, retry: true, error: (err as Error).message };
  }
}

/**
 * Unique, identifiable writes from `clients` concurrent clients against every datacenter (the
 * secondaries forward to the primary), each retried with its own X-Request-ID on any failure,
 * possibly at another datacenter, as a real client would; plus CA configuration changes.
 */
export async function runWorkload(o: WorkloadOptions): Promise<{ writes: WriteRecord[]; ca: CaRecord[] }> {
  const dcs = [...o.urls.keys()];
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(o.random() * xs.length)]!;
  const writes: WriteRecord[] = [];
  const ca: CaRecord[] = [];
  const startedAt = Date.now();
  const stopAt = startedAt + o.durationMs;
  const giveUpAt = startedAt + o.giveUpMs;

  async function write(record: WriteRecord): Promise<void> {
    const path = `/v1/connect/intentions/exact?source=${encodeURIComponent(record.source)}&destination=${record.destination}`;
    while (Date.now() < giveUpAt) {
      const dc = record.tried.length === 0 || o.random() < 0.5 ? pick(dcs) : record.tried[record.tried.length - 1]!;
      record.tried.push(dc);
      const r = await attempt(o.urls.get(dc)!, 'PUT', path, { Action: record.action }, record.req);
      if (r.ok) {
        record.acked = true;
        return;
      }
      record.lastError = `${dc}: ${r.error}`;
      if (!r.retry) return;
      await new Promise((res) => setTimeout(res, 150 + o.random() * 200));
    }
  }

  async function client(c: number): Promise<void> {
    for (let n = 0; Date.now() < stopAt; n++) {
      const record: WriteRecord = {
        req: `w${o.round}-${c}-${n}`,
        source: `f${o.round}-${c}-${n}`,
        destination: pick(DESTINATIONS),
        action: o.random() < 0.5 ? 'allow' : 'deny',
        tried: [],
        acked: false,
        lastError: '',
      };
      writes.push(record);
      await write(record);
    }
  }

  async function caClient(): Promise<void> {
    for (let n = 0; Date.now() < stopAt; n++) {
      const record: CaRecord = { req: `ca${o.round}-${n}`, ttl: n % 2 === 0 ? '71h' : '72h', acked: false };
      ca.push(record);
      while (!record.acked && Date.now() < giveUpAt) {
        const r = await attempt(o.urls.get(pick(dcs))!, 'PUT', '/v1/connect/ca/configuration', { Provider: 'consul', Config: { LeafCertTTL: record.ttl } }, record.req);
        if (r.ok) record.acked = true;
        else if (!r.retry) break;
        else await new Promise((res) => setTimeout(res, 300));
      }
      await new Promise((res) => setTimeout(res, 400));
    }
  }

  await Promise.all([...Array.from({ length: o.clients }, (_, c) => client(c)), caClient()]);
  return { writes, ca };
}
