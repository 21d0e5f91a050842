import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, openSync, writeFileSync, closeSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { z } from 'zod';
import { errorMessage, packageRoot } from '../common/index.js';
import { findNatsServer, startDatacenterServers, type DatacenterServers } from '../natsd/index.js';
import { CliExit } from './exit.js';
import { shutdownSignal } from './signals.js';
import type { CliIo } from './main.js';


/** `--datacenters dc1,dc2,…` (the first is the primary), as `trellis dev` and `trellis nats-config` take it. */
export const datacenterListSchema = z
  .string()
  .transform((s) => s.split(',').map((d) => d.trim()).filter(Boolean))
  .pipe(
    z
      .array(z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'datacenter names are lowercase letters, digits, "-" and "_"'))
      .min(1, 'name at least one datacenter')
      .refine((a) => new Set(a).size === a.length, 'datacenter names must be unique'),
  );

const devOptionsSchema = z.object({
  datacenters: datacenterListSchema,
  portBase: z.coerce.number().int().min(1).max(65000),
  dataDir: z.string().min(1),
  defaultIntentionPolicy: z.enum(['allow', 'deny']),
});

export type DevOptions = z.infer<typeof devOptionsSchema>;

export interface DevDatacenter {
  readonly name: string;
  readonly http: string;
  /** The web UI: `<http>/ui/`. */
  readonly ui: string;
  /** `127.0.0.1:<port>` of the DNS interface (UDP). */
  readonly dns: string;
  readonly nats: string;
  /** A read-only NATS credentials file (audit, replay, event subscribers), mode 0600. */
  readonly natsCreds: string;
  /** The CA the dev nats-servers' TLS certificates chain to. */
  readonly natsCa: string;
  readonly natsPid: number;
  readonly agentPid: number;
}

interface AgentProcess {
  readonly name: string;
  readonly child: ChildProcess;
  readonly http: string;
  readonly dns: string;
  readonly logPath: string;
}

export async function waitForAgent(url: string, child: ChildProcess, logPath: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`agent exited with code ${child.exitCode} before it was ready: see ${logPath}`);
    try {
      const res = await fetch(`${url}/v1/trellis/replication`);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`agent at ${url} was not ready within ${timeoutMs} ms: see ${logPath}`);
}

export function stopChild(child: ChildProcess, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((done) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      done();
    });
    child.kill('SIGTERM');
  });
}

/** A running dev deployment: one nats-server and one agent process per datacenter. */
export interface DevDeployment {
  readonly datacenters: readonly DevDatacenter[];
  readonly manifestPath: string;
  stop(): Promise<void>;
}

export async function startDev(options: DevOptions, io: CliIo): Promise<DevDeployment> {
  const dataDir = resolve(options.dataDir);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const bin = findNatsServer(io.env);
  const primary = options.datacenters[0] ?? 'dc1';
  let servers: DatacenterServers | undefined;
  const agents: AgentProcess[] = [];
  let stopping = false;
  const stop = async () => {
    stopping = true;
    await Promise.all(agents.map((a) => stopChild(a.child, 5000)));
    await servers?.stop();
  };
  try {
    servers = await startDatacenterServers({ datacenters: options.datacenters, baseDir: join(dataDir, 'nats'), bin });
    for (const [i, name] of options.datacenters.entries()) {
      const server = servers.servers.get(name);
      if (!server) throw new Error(`no nats-server was started for ${name}`);
      const dir = join(dataDir, name);
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      const port = options.portBase + i;
      const configPath = join(dir, 'agent.json');
      const config = {
        datacenter: name,
        primary_datacenter: primary,
        data_dir: dir,
        addresses: { http: '127.0.0.1' },
        // Datacenter i: DNS on port-base + 100 + i (8600, 8601, …), sidecars from 21000 + 256 i.
        ports: { http: port, dns: options.portBase + 100 + i, sidecar_min_port: 21000 + 256 * i, sidecar_max_port: 21255 + 256 * i },
        nats: { url: server.url, credentials_file: servers.access.get(name)!.agent.file },
        default_intention_policy: options.defaultIntentionPolicy,
        log_level: 'info',
      };
      writeFileSync(configPath, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
      const logPath = join(dir, 'agent.log');
      const logFd = openSync(logPath, 'a', 0o600);
      const child = spawn(process.execPath, [join(packageRoot(), 'bin', 'trellis.js'), 'agent', '-config-file', configPath], {
        stdio: ['ignore', logFd, logFd],
        env: { ...process.env, FORCE_COLOR: '0' },
      });
      closeSync(logFd);
      const agent = { name, child, http: `http://127.0.0.1:${port}`, dns: `127.0.0.1:${options.portBase + 100 + i}`, logPath };
      agents.push(agent);
      // The primary first: a secondary's mirror created before the primary's stream exists is
      // retried by nats-server only after a back-off of several seconds.
      if (i === 0) await waitForAgent(agent.http, child, logPath, 60_000);
    }
    await Promise.all(agents.map((a) => waitForAgent(a.http, a.child, a.logPath, 60_000)));
  } catch (err) {
    await stop();
    throw err;
  }
  const datacenters: DevDatacenter[] = agents.map((a) => {
    const server = servers?.servers.get(a.name);
    return {
      name: a.name,
      http: a.http,
      ui: `${a.http}/ui/`,
      dns: a.dns,
      nats: server?.url ?? '',
      natsCreds: servers?.access.get(a.name)?.reader.file ?? '',
      natsCa: servers?.tls.caFile ?? '',
      natsPid: server?.pid ?? 0,
      agentPid: a.child.pid ?? 0,
    };
  });
  const manifestPath = join(dataDir, 'dev.json');
  writeFileSync(manifestPath, `${JSON.stringify({ primary, datacenters }, null, 2)}\n`, { mode: 0o600 });
  for (const a of agents) {
    a.child.on('exit', (code, signal) => {
      if (stopping) return;
      io.stderr(`==> agent ${a.name} exited (${signal ?? `code ${code}`}): see ${a.logPath}\n`);
    });
  }
  return { datacenters, manifestPath, stop };
}

export function registerDevCommand(program: Command, io: CliIo): void {
  program
    .command('dev')
    .description('Run a complete multi-datacenter deployment on this machine: one nats-server and one agent per datacenter')
    .option('--datacenters <list>', 'comma-separated datacenters; the first is the primary', 'dc1,dc2')
    .option('--port-base <port>', 'datacenter i (from 0) serves HTTP on port-base + i and DNS on port-base + 100 + i', '8500')
    .option('--data-dir <dir>', 'where servers and agents keep their state', '.trellis/dev')
    .option('--default-intention-policy <allow|deny>', 'answer when no intention matches', 'allow')
    .action(async (raw: Record<string, unknown>) => {
      const parsed = devOptionsSchema.safeParse(raw);
      if (!parsed.success) throw new CliExit(1, `==> ${parsed.error.issues.map((i) => `--${i.path.join('.')}: ${i.message}`).join('; ')}`);
      let dev: DevDeployment;
      try {
        dev = await startDev(parsed.data, io);
      } catch (err) {
        throw new CliExit(1, `==> trellis dev failed to start: ${errorMessage(err)}`);
      }
      for (const dc of dev.datacenters) {
        const role = dc.name === parsed.data.datacenters[0] ? 'primary' : 'secondary';
        io.stdout(`==> ${dc.name} (${role}): HTTP ${dc.http}  UI ${dc.ui}  DNS ${dc.dns}  NATS ${dc.nats}  nats-server pid ${dc.natsPid}  agent pid ${dc.agentPid}\n`);
      }
      io.stdout(`==> NATS is TLS with a password per role; read-only credentials for audit, replay and subscribers: ${dev.datacenters.map((d) => d.natsCreds).join(', ')}\n`);
      io.stdout(`==> wrote ${dev.manifestPath}; Ctrl-C stops everything\n`);
      await shutdownSignal();
      io.stdout('==> stopping\n');
      await dev.stop();
    });
}
