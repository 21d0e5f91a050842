import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { packageRoot } from '../../src/common/index.js';
import { findNatsServer, freePort, startDatacenterServers, type DatacenterServers } from '../../src/natsd/index.js';
import { stopChild, waitForAgent } from '../../src/cli/dev-command.js';

/** One agent as a real process: killed with -9, paused, restarted on the same data and ports. */
export interface AgentProcess {
  readonly dc: string;
  readonly http: string;
  readonly dataDir: string;
  readonly logPath: string;
  signal(sig: NodeJS.Signals): void;
  /** Moves this agent's wall clock (libfaketime; secondaries only, when it is installed): "+200d", "+0". */
  readonly setClock: ((offset: string) => void) | undefined;
  running(): boolean;
  /** Starts it again (after a kill or a stop) and waits until it answers. */
  start(): Promise<void>;
  stop(): Promise<void>;
}

export interface FaultCluster {
  readonly dir: string;
  readonly datacenters: readonly string[];
  readonly primary: string;
  readonly nats: DatacenterServers;
  readonly agents: ReadonlyMap<string, AgentProcess>;
  /** Datacenters whose data directory is a small tmpfs (the full-disk fault). */
  readonly tmpfs: ReadonlySet<string>;
  url(dc: string): string;
  stop(): Promise<void>;
}

/** Debian's libfaketime (package faketime): a process's wall clock moved by a file's content. */
const LIBFAKETIME = ['/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1', '/usr/lib/aarch64-linux-gnu/faketime/libfaketimeMT.so.1'].find((p) => existsSync(p));

/** Mounts a tmpfs of `sizeMb` at `dir` when this process may (root on Linux); false otherwise. */
function mountTmpfs(dir: string, sizeMb: number): boolean {
  if (process.getuid?.() !== 0) return false;
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeMb}m,mode=0700`, 'tmpfs', dir], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export async function startFaultCluster({ datacenters, dir, tmpfsFor = [] }: { datacenters: string[]; dir: string; tmpfsFor?: string[] }): Promise<FaultCluster> {
  const primary = datacenters[0]!;
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const nats = await startDatacenterServers({ datacenters, baseDir: join(dir, 'nats'), bin: findNatsServer(process.env) });
  const agents = new Map<string, AgentProcess>();
  const tmpfs = new Set<string>();
  const children = new Set<ChildProcess>();
  for (const dc of datacenters) {
    const dataDir = join(dir, dc);
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    if (tmpfsFor.includes(dc) && mountTmpfs(dataDir, 96)) tmpfs.add(dc);
    const port = await freePort();
    const configPath = join(dir, `${dc}-agent.json`);
    writeFileSync(
      configPath,
      JSON.stringify({
        datacenter: dc,
        primary_datacenter: primary,
        data_dir: dataDir,
        ports: { http: port, dns: -1 },
        nats: { url: nats.servers.get(dc)!.url, credentials_file: nats.access.get(dc)!.agent.file },
        default_intention_policy: 'allow',
        limits: { http_requests_per_client: 0 },
        log_level: 'info',
      }),
      { mode: 0o600 },
    );
    const logPath = join(dir, `${dc}-agent.log`);
    // Secondaries run under libfaketime (when installed) with a clock offset file: "+0" until a fault moves it.
    const clockFile = dc !== primary && LIBFAKETIME ? join(dir, `${dc}-clock`) : undefined;
    if (clockFile) writeFileSync(clockFile, '+0\n');
    const clockEnv = clockFile
      ? { LD_PRELOAD: LIBFAKETIME, FAKETIME_TIMESTAMP_FILE: clockFile, FAKETIME_NO_CACHE: '1', FAKETIME_DONT_FAKE_MONOTONIC: '1' }
      : {};
    let child: ChildProcess | undefined;
    const http = `http://127.0.0.1:${port}`;
    const running = () => child !== undefined && child.exitCode === null && child.signalCode === null;
    const agent: AgentProcess = {
      dc,
      http,
      dataDir,
      logPath,
      signal: (sig) => {
        if (running()) child!.kill(sig);
      },
      running,
      setClock: clockFile ? (offset) => writeFileSync(clockFile, `${offset}\n`) : undefined,
      async start() {
        if (running()) return;
        const fd = openSync(logPath, 'a', 0o600);
        child = spawn(process.execPath, [join(packageRoot(), 'bin', 'trellis.js'), 'agent', '-config-file', configPath], { stdio: ['ignore', fd, fd], env: { ...process.env, FORCE_COLOR: '0', ...clockEnv } });
        closeSync(fd);
        children.add(child);
        await waitForAgent(http, child, logPath, 90_000);
      },
      async stop() {
        if (child) {
          child.kill('SIGCONT');
          await stopChild(child, 5000);
        }
      },
    };
    agents.set(dc, agent);
  }
  // The primary first (its stream must exist before the mirrors), then the others.
  await agents.get(primary)!.start();
  await Promise.all(datacenters.slice(1).map((dc) => agents.get(dc)!.start()));
  process.once('exit', () => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  });
  return {
    dir,
    datacenters,
    primary,
    nats,
    agents,
    tmpfs,
    url: (dc) => agents.get(dc)!.http,
    async stop() {
      await Promise.all([...agents.values()].map((a) => a.stop()));
      for (const s of nats.servers.values()) s.resume();
      await nats.stop();
      for (const dc of tmpfs) {
        try {
          execFileSync('umount', ['-l', join(dir, dc)], { stdio: 'ignore' });
        } catch {
          // already gone
        }
      }
    },
  };
}
