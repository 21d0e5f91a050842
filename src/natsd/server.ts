import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, openSync, closeSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { TrellisError, type Logger } from '../common/index.js';
import { renderNatsConfig, type NatsServerSpec } from './config.js';

/** A nats-server process this process started. */
export interface RunningNatsServer {
  readonly name: string;
  /** `nats://127.0.0.1:<client port>` */
  readonly url: string;
  /** `nats-leaf://127.0.0.1:<leaf port>` when this server listens for leafnodes. */
  readonly leafUrl: string | undefined;
  readonly monitorUrl: string;
  readonly pid: number;
  readonly configPath: string;
  readonly logPath: string;
  /** SIGTERM, then SIGKILL after a grace period; resolves once it exited. */
  stop(): Promise<void>;
  kill(signal: NodeJS.Signals): void;
  /** SIGSTOP: the process stays, answers nothing (a frozen WAN peer). */
  pause(): void;
  /** SIGCONT. */
  resume(): void;
  /** Starts it again with the same ports and store (after stop()). */
  restart(): Promise<void>;
  running(): boolean;
}

export interface StartNatsServerOptions {
  readonly spec: NatsServerSpec;
  /** Where the config and log files go. */
  readonly dir: string;
  readonly bin: string;
  readonly logger?: Logger;
  /** @default 15000 */
  readonly readyTimeoutMs?: number;
}

/** A free TCP port on 127.0.0.1 (bind to 0, read, close). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

function tail(path: string, lines = 15): string {
  try {
    return readFileSync(path, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

async function waitReady(monitorUrl: string, child: ChildProcess, logPath: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new TrellisError('E_UNAVAILABLE', `nats-server exited (${child.signalCode ?? `code ${child.exitCode}`}) before it was ready; its log ends:\n${tail(logPath)}`);
    }
    try {
      const res = await fetch(`${monitorUrl}/healthz?js-enabled-only=true`);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new TrellisError('E_UNAVAILABLE', `nats-server was not ready within ${timeoutMs} ms; its log ends:\n${tail(logPath)}`);
}

export async function startNatsServer({ spec, dir, bin, logger, readyTimeoutMs = 15_000 }: StartNatsServerOptions): Promise<RunningNatsServer> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const configPath = join(dir, `${spec.name}.conf`);
  const logPath = join(dir, `${spec.name}.log`);
  writeFileSync(configPath, renderNatsConfig(spec), { mode: 0o600 });
  const host = spec.host ?? '127.0.0.1';
  const monitorUrl = `http://${host}:${spec.httpPort}`;
  let child: ChildProcess;

  async function launch(): Promise<void> {
    const fd = openSync(logPath, 'a', 0o600);
    child = spawn(bin, ['-c', configPath], { stdio: ['ignore', fd, fd] });
    closeSync(fd);
    child.once('error', (err) => logger?.error({ err: err.message, name: spec.name }, 'nats-server failed to spawn'));
    await waitReady(monitorUrl, child, logPath, readyTimeoutMs);
    logger?.debug({ name: spec.name, pid: child.pid }, 'nats-server ready');
  }

  const exited = () => child.exitCode !== null || child.signalCode !== null;
  const server: RunningNatsServer = {
    name: spec.name,
    url: `nats://${host}:${spec.clientPort}`,
    leafUrl: spec.leafListenPort === undefined ? undefined : `nats-leaf://${host}:${spec.leafListenPort}`,
    monitorUrl,
    get pid() {
      return child.pid ?? 0;
    },
    configPath,
    logPath,
    stop() {
      if (exited()) return Promise.resolve();
      return new Promise<void>((resolve) => {
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        child.once('exit', () => {
          clearTimeout(timer);
          resolve();
        });
        child.kill('SIGCONT');
        child.kill('SIGTERM');
      });
    },
    kill: (signal) => {
      child.kill(signal);
    },
    pause: () => {
      child.kill('SIGSTOP');
    },
    resume: () => {
      child.kill('SIGCONT');
    },
    async restart() {
      if (!exited()) await server.stop();
      await launch();
    },
    running: () => !exited(),
  };
  try {
    await launch();
  } catch (err) {
    if (!exited()) child!.kill('SIGKILL');
    throw err;
  }
  return server;
}

/** Waits until the hub reports `count` leafnode connections. */
export async function waitForLeafnodes(hubMonitorUrl: string, count: number, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let seen = 0;
  while (Date.now() < deadline) {
    try {
      const res = await fetch(`${hubMonitorUrl}/leafz`);
      if (res.ok) {
        const body = (await res.json()) as { leafnodes?: number };
        seen = body.leafnodes ?? 0;
        if (seen >= count) return;
      }
    } catch {
      // retry
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new TrellisError('E_UNAVAILABLE', `only ${seen} of ${count} leafnodes connected to ${hubMonitorUrl} within ${timeoutMs} ms`);
}
