import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { join } from 'node:path';
import { chainEvent, eventHash, eventSubject, EVENTS_STREAM, GENESIS_PREV, type TrellisEvent } from '../../src/events/index.js';
import { createEventLog } from '../../src/log/index.js';
import { intentionPrecedence } from '../../src/intentions/index.js';
import { freePort } from '../../src/natsd/index.js';
import { packageRoot } from '../../src/common/index.js';
import { stopChild, waitForAgent } from '../../src/cli/dev-command.js';
import { percentile, result, type BenchContext, type BenchResult } from '../lib.js';
import { startBenchCluster, type BenchDc } from './setup.js';

const INTENTIONS = 100_000;
const SERVICES = 10_000;
const WAITERS = 10_000;

/** A trellis agent as its own process (its memory is its own), on the bench's nats-server. */
async function startAgentProcess(dir: string, dc: BenchDc, port: number): Promise<{ url: string; child: ChildProcess; rssMiB(): { rss: number; peak: number } }> {
  const configPath = join(dir, 'agent.json');
  writeFileSync(
    configPath,
    JSON.stringify({
      datacenter: 'dc1',
      primary_datacenter: 'dc1',
      data_dir: join(dir, 'agent'),
      ports: { http: port, dns: -1 },
      nats: { url: dc.url, credentials_file: dc.agentCreds },
      limits: { http_requests_per_client: 0, http_max_conns_per_client: WAITERS * 2 },
      log_level: 'warn',
      // TRELLIS_BENCH_AGENT_CONFIG: extra agent configuration keys (JSON), for experiments.
      ...(JSON.parse(process.env.TRELLIS_BENCH_AGENT_CONFIG ?? '{}') as Record<string, unknown>),
    }),
  );
  const logPath = join(dir, 'agent.log');
  const fd = openSync(logPath, 'a', 0o600);
  // TRELLIS_BENCH_AGENT_FLAGS: Node flags for the agent process, say "--cpu-prof --cpu-prof-dir=/tmp/prof" to profile it.
  const flags = (process.env.TRELLIS_BENCH_AGENT_FLAGS ?? '').split(' ').filter((f) => f !== '');
  const child = spawn(process.execPath, [...flags, join(packageRoot(), 'dist', 'src', 'cli', 'main.js'), 'agent', '-config-file', configPath], { stdio: ['ignore', fd, fd] });
  closeSync(fd);
  const url = `http://127.0.0.1:${port}`;
  await waitForAgent(url, child, logPath, 120_000);
  const kib = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1] ?? NaN);
  return { url, child, rssMiB: () => ({ rss: kib('VmRSS') / 1024, peak: kib('VmHWM') / 1024, anon: kib('RssAnon') / 1024, file: kib('RssFile') / 1024 }) };
}

/** Appends 100,000 intentions (10,000 wildcard sources, one per service; 90,000 named pairs) after the stream's head. */
export async function appendIntentions(dc: BenchDc): Promise<void> {
  const log = createEventLog({ nc: dc.nc, jsm: dc.jsm });
  const head = (await dc.jsm.streams.info(EVENTS_STREAM)).state.last_seq;
  let prev = head === 0 ? GENESIS_PREV : eventHash((await dc.jsm.streams.getMessage(EVENTS_STREAM, { seq: head }))!.data);
  let pending: Promise<unknown>[] = [];
  for (let i = 0; i < INTENTIONS; i++) {
    const pair = { SourceNS: 'default', SourceName: i < SERVICES ? '*' : `web-${i}`, DestinationNS: 'default', DestinationName: `svc-${i % SERVICES}` };
    const intention = { ID: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`, ...pair, SourceType: 'consul' as const, Action: i % 3 ? ('allow' as const) : ('deny' as const), Description: '', Meta: {}, Precedence: intentionPrecedence(pair), CreatedAt: 0, UpdatedAt: 0 };
    const event: TrellisEvent = { v: 1, type: 'IntentionCreated', at: Date.now(), by: 'bench', data: { intention } };
    const chained = chainEvent(event, prev);
    prev = chained.hash;
    pending.push(log.appendRaw(eventSubject(event), chained.bytes, { expectedLastSeq: head + i }));
    if (pending.length >= 512) {
      await Promise.all(pending);
      pending = [];
    }
  }
  await Promise.all(pending);
  log.close();
}

interface Reply {
  readonly status: number;
  readonly body: string;
  readonly headers: http.IncomingHttpHeaders;
}

function request(agent: http.Agent, url: string, method: string, path: string, body?: unknown): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${url}${path}`, { method, agent, headers: body === undefined ? {} : { 'content-type': 'application/json' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), headers: res.headers }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

/**
 * A minimal HTTP/1.1 client on one raw socket, for many concurrent connections without the cost of
 * node:http's client (10,000 of those parse slower than the agent answers): sends a GET, resolves
 * with the time the answer's headers arrived once the whole body (Content-Length) is in.
 */
export class RawConnection {
  private readonly socket: net.Socket;
  private pending: { resolve: (r: { at: number; status: number }) => void; reject: (e: Error) => void } | undefined;
  private buffer: Buffer = Buffer.alloc(0);
  private headerAt = 0;
  private status = 0;
  private need = -1;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => this.pending?.reject(err));
    socket.on('close', () => this.pending?.reject(new Error('connection closed')));
  }

  static open(port: number): Promise<RawConnection> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1', () => resolve(new RawConnection(socket)));
      socket.once('error', reject);
    });
  }

  get(path: string): Promise<{ at: number; status: number }> {
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject };
      this.buffer = Buffer.alloc(0);
      this.need = -1;
      this.headerAt = 0;
      this.socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
    });
  }

  private onData(chunk: Buffer): void {
    if (this.headerAt === 0) this.headerAt = performance.now();
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    if (this.need < 0) {
      const end = this.buffer.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = this.buffer.subarray(0, end).toString('latin1');
      this.status = Number(head.slice(9, 12));
      const length = /\r\ncontent-length: *(\d+)/i.exec(head);
      if (!length) {
        this.pending?.reject(new Error(`no content-length in ${head.slice(0, 200)}`));
        return;
      }
      this.need = end + 4 + Number(length[1]);
    }
    if (this.buffer.length >= this.need) {
      const done = this.pending;
      this.pending = undefined;
      done?.resolve({ at: this.headerAt, status: this.status });
    }
  }

  close(): void {
    this.socket.destroy();
  }
}

/** CPU seconds (user + system) a process has used, from /proc. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

async function latencies(n: number, step: () => Promise<void>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await step();
    out.push(performance.now() - t);
  }
  return out.sort((a, b) => a - b);
}

/**
 * Issue 9's scale, against a real agent process (the compiled build): 100,000 intentions and 10,000 registered services.
 * - http_authorize.p99_ms: POST /v1/agent/connect/authorize, one client, keep-alive; baseline GET
 *   /v1/status/leader on the same server (the HTTP stack alone).
 * - agent.rss_mib: the agent's resident memory with 100,000 intentions and 10,000 services; the
 *   same with 10,000 blocking queries open, and the peak while they are answered; baseline the same
 *   agent process with an empty view.
 * - blocking.wake_p99_ms / max: 10,000 concurrent blocking GET /v1/connect/intentions/match (one per
 *   service, each on its own connection, as 10,000 sidecars would) answered after one intention
 *   write, from the moment the write is sent; baseline: the time to answer 10,000 non-blocking
 *   requests sent at once on the same connections (the server's cost of 10,000 answers).
 */
export async function benchScale(ctx: BenchContext): Promise<BenchResult[]> {
  // The agent as deployed: compiled by `npm run build` (through tsx it would carry the TypeScript
  // compiler's ~37 MB as well).
  execFileSync(process.execPath, [join(packageRoot(), 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(packageRoot(), 'tsconfig.build.json')], { stdio: 'inherit' });
  const cluster = await startBenchCluster(['dc1']);
  const agentHttp = new http.Agent({ keepAlive: true, maxSockets: 1 });
  let agent: Awaited<ReturnType<typeof startAgentProcess>> | undefined;
  try {
    const dc1 = cluster.dc('dc1');
    const port = await freePort();
    // An empty agent first: the baseline of its memory.
    agent = await startAgentProcess(cluster.dir, dc1, port);
    await new Promise((r) => setTimeout(r, 2000));
    const emptyRss = agent.rssMiB().rss;
    await stopChild(agent.child, 10_000);
    await appendIntentions(dc1);
    ctx.log(`stream holds ${INTENTIONS} intentions; restarting the agent on it`);
    const started = performance.now();
    agent = await startAgentProcess(cluster.dir, dc1, port);
    const { url } = agent;
    for (;;) {
      const status = JSON.parse((await request(agentHttp, url, 'GET', '/v1/trellis/replication')).body) as { AppliedIndex: number; SourceIndex: number };
      if (status.AppliedIndex >= INTENTIONS && status.AppliedIndex >= status.SourceIndex) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    ctx.log(`agent serving ${INTENTIONS} intentions after ${((performance.now() - started) / 1000).toFixed(1)} s; RSS ${JSON.stringify(agent.rssMiB(), (_k, v: unknown) => (typeof v === 'number' ? Math.round(v) : v))} MiB`);

    // 10,000 services in the catalog.
    const pool = new http.Agent({ keepAlive: true, maxSockets: 32 });
    const registering = performance.now();
    for (let i = 0; i < SERVICES; i += 500) {
      await Promise.all(
        Array.from({ length: Math.min(500, SERVICES - i) }, (_, j) => request(pool, url, 'PUT', '/v1/agent/service/register', { Name: `svc-${i + j}`, ID: `svc-${i + j}`, Port: 20000 + ((i + j) % 10000) })),
      );
    }
    ctx.log(`${SERVICES} services registered in ${((performance.now() - registering) / 1000).toFixed(1)} s; RSS ${agent.rssMiB().rss.toFixed(0)} MiB`);

    const trustDomain = (JSON.parse((await request(agentHttp, url, 'GET', '/v1/connect/ca/roots')).body) as { TrustDomain: string }).TrustDomain;
    const n = ctx.quick ? 3000 : 20_000;
    let k = 0;
    let allowed = 0;
    const authz = await latencies(n, async () => {
      k++;
      const body = { Target: `svc-${(k * 7919) % SERVICES}`, ClientCertURI: `spiffe://${trustDomain}/ns/default/dc/dc1/svc/web-${SERVICES + ((k * 104729) % (INTENTIONS - SERVICES))}` };
      const res = await request(agentHttp, url, 'POST', '/v1/agent/connect/authorize', body);
      if (res.status !== 200) throw new Error(`authorize answered ${res.status}: ${res.body}`);
      if ((JSON.parse(res.body) as { Authorized: boolean }).Authorized) allowed++;
    });
    const leader = await latencies(n, async () => {
      await request(agentHttp, url, 'GET', '/v1/status/leader');
    });
    const steadyRss = agent.rssMiB().rss;
    ctx.log(`authorize: ${allowed}/${n} allowed; p50 ${percentile(authz, 50).toFixed(3)} ms, p99 ${percentile(authz, 99).toFixed(3)} ms`);

    // 10,000 blocking queries, each on its own connection.
    const index = Number((await request(agentHttp, url, 'GET', '/v1/connect/intentions/match?by=destination&name=svc-0')).headers['x-consul-index']);
    const connections: RawConnection[] = [];
    for (let i = 0; i < WAITERS; i++) {
      connections.push(await RawConnection.open(port));
      if (i % 250 === 249) await new Promise((r) => setTimeout(r, 20)); // within the listen backlog
    }
    const waiting = connections.map((c, i) => c.get(`/v1/connect/intentions/match?by=destination&name=svc-${i}&index=${index}&wait=120s`));
    let early = 0;
    for (const w of waiting) void w.then(() => early++, () => undefined);
    await new Promise((r) => setTimeout(r, 3000));
    const waitingRss = agent.rssMiB().rss;
    ctx.log(`${WAITERS} blocking queries waiting; RSS ${waitingRss.toFixed(0)} MiB`);
    if (early > 0) throw new Error(`${early} blocking queries returned before the change`);
    // From the moment the write is sent: the change is applied (and the waiters woken) before its
    // own answer comes back, which waits behind the 10,000 answers on the agent's event loop.
    const cpuBefore = cpuSeconds(agent.child.pid!);
    const ackAt = performance.now();
    const write = await request(agentHttp, url, 'PUT', '/v1/connect/intentions/exact?source=bench-wake&destination=svc-1', { Action: 'allow' });
    if (write.status !== 200) throw new Error(`write answered ${write.status}: ${write.body}`);
    const answers = await Promise.all(waiting);
    const cpuWake = cpuSeconds(agent.child.pid!) - cpuBefore;
    if (answers.some((a) => a.status !== 200)) throw new Error('a blocking match did not answer 200');
    const wake = answers.map((a) => Math.max(0, a.at - ackAt)).sort((a, b) => a - b);
    // Baseline: 10,000 non-blocking answers on the same (open) connections, sent at once.
    const sentAt = performance.now();
    await Promise.all(connections.map((c, i) => c.get(`/v1/connect/intentions/match?by=destination&name=svc-${i}`)));
    const answerAll = performance.now() - sentAt;
    for (const c of connections) c.close();
    ctx.log(`blocking: ${wake.length} woken, p50 ${percentile(wake, 50).toFixed(1)} ms, p99 ${percentile(wake, 99).toFixed(1)} ms, last ${wake[wake.length - 1]?.toFixed(1)} ms (agent CPU ${(cpuWake * 1000).toFixed(0)} ms); 10,000 plain answers take ${answerAll.toFixed(1)} ms`);
    const memory = agent.rssMiB();
    ctx.log(`agent RSS ${memory.rss.toFixed(0)} MiB, peak ${memory.peak.toFixed(0)} MiB (empty: ${emptyRss.toFixed(0)} MiB)`);
    pool.destroy();
    return [
      result('http_authorize.p99_ms', percentile(authz, 99), 'ms', percentile(leader, 99), { target: '<= 1', note: '100,000 intentions; baseline GET /v1/status/leader' }),
      result('http_authorize.p50_ms', percentile(authz, 50), 'ms', percentile(leader, 50)),
      result('agent.rss_mib', steadyRss, 'MiB', emptyRss, { target: '<= 300', note: '100,000 intentions and 10,000 services, after the authorize run; baseline: the empty agent' }),
      result('agent.rss_10k_waiting_mib', waitingRss, 'MiB', emptyRss, { note: 'the same with 10,000 blocking queries open' }),
      result('agent.rss_peak_mib', memory.peak, 'MiB', emptyRss, { note: 'peak, while answering the 10,000 at once' }),
      result('blocking.wake_p99_ms', percentile(wake, 99), 'ms', answerAll, { target: '<= 50', note: '10,000 blocking match queries, one write; baseline: answering 10,000 at once' }),
      result('blocking.wake_max_ms', wake[wake.length - 1] ?? NaN, 'ms', answerAll),
    ];
  } finally {
    agentHttp.destroy();
    if (agent) await stopChild(agent.child, 10_000);
    await cluster.stop();
  }
}
