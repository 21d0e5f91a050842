import { closeSync, openSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { FaultCluster } from './cluster.js';

/** A fault: injected while the workload runs; `heal` undoes it (everything running again). */
export interface Fault {
  readonly name: string;
  /** The datacenter it hits when it is not the one the round picked (the full-disk fault: the tmpfs one). */
  target?(c: FaultCluster): string;
  /** Whether this cluster can inject it (the full-disk fault needs a tmpfs). */
  applicable(c: FaultCluster): boolean;
  inject(c: FaultCluster, target: string): Promise<() => Promise<void>>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const secondaries = (c: FaultCluster) => c.datacenters.filter((d) => d !== c.primary);

/** Restarts a nats-server and waits until the hub sees every leafnode again. */
async function restartServer(c: FaultCluster, dc: string): Promise<void> {
  await c.nats.servers.get(dc)!.restart();
}

export const FAULTS: readonly Fault[] = [
  {
    name: 'kill -9 the primary agent',
    applicable: () => true,
    async inject(c) {
      c.agents.get(c.primary)!.signal('SIGKILL');
      return async () => {
        await sleep(500);
        await c.agents.get(c.primary)!.start();
      };
    },
  },
  {
    name: 'kill -9 a secondary agent',
    applicable: (c) => secondaries(c).length > 0,
    async inject(c, target) {
      c.agents.get(target)!.signal('SIGKILL');
      return async () => c.agents.get(target)!.start();
    },
  },
  {
    name: 'kill -9 the hub nats-server',
    applicable: () => true,
    async inject(c) {
      c.nats.servers.get(c.primary)!.kill('SIGKILL');
      return async () => {
        await sleep(1000);
        await restartServer(c, c.primary);
      };
    },
  },
  {
    name: 'kill -9 a leaf nats-server',
    applicable: (c) => secondaries(c).length > 0,
    async inject(c, target) {
      c.nats.servers.get(target)!.kill('SIGKILL');
      return async () => {
        await sleep(500);
        await restartServer(c, target);
      };
    },
  },
  {
    name: 'SIGSTOP the hub nats-server',
    applicable: () => true,
    async inject(c) {
      c.nats.servers.get(c.primary)!.pause();
      return async () => c.nats.servers.get(c.primary)!.resume();
    },
  },
  {
    name: 'SIGSTOP a secondary agent',
    applicable: (c) => secondaries(c).length > 0,
    async inject(c, target) {
      c.agents.get(target)!.signal('SIGSTOP');
      return async () => c.agents.get(target)!.signal('SIGCONT');
    },
  },
  {
    name: 'SIGSTOP the primary agent',
    applicable: () => true,
    async inject(c) {
      c.agents.get(c.primary)!.signal('SIGSTOP');
      return async () => c.agents.get(c.primary)!.signal('SIGCONT');
    },
  },
  {
    name: 'cut a leafnode link (stop the leaf server, start it again)',
    applicable: (c) => secondaries(c).length > 0,
    async inject(c, target) {
      await c.nats.servers.get(target)!.stop();
      return async () => restartServer(c, target);
    },
  },
  {
    name: 'restart the primary agent mid-batch (SIGTERM)',
    applicable: () => true,
    async inject(c) {
      await c.agents.get(c.primary)!.stop();
      return async () => c.agents.get(c.primary)!.start();
    },
  },
  {
    name: 'a leaf server loses its JetStream store (the mirror must be re-created)',
    applicable: (c) => secondaries(c).length > 0,
    async inject(c, target) {
      const server = c.nats.servers.get(target)!;
      server.kill('SIGKILL');
      await sleep(300);
      rmSync(join(c.dir, 'nats', target, 'jetstream'), { recursive: true, force: true });
      return async () => restartServer(c, target);
    },
  },
  {
    name: "a secondary's clock jumps 200 days ahead, then back",
    applicable: (c) => [...c.agents.values()].some((a) => a.setClock !== undefined),
    async inject(c, target) {
      const agent = c.agents.get(target)!;
      agent.setClock!('+200d');
      return async () => agent.setClock!('+0');
    },
  },
  {
    name: "a secondary's data directory is full",
    applicable: (c) => c.tmpfs.size > 0,
    target: (c) => [...c.tmpfs][0]!,
    async inject(c, target) {
      const filler = join(c.agents.get(target)!.dataDir, 'filler');
      const fd = openSync(filler, 'w', 0o600);
      const chunk = Buffer.alloc(1 << 20);
      try {
        for (;;) writeSync(fd, chunk);
      } catch {
        // ENOSPC: the disk is full
      } finally {
        closeSync(fd);
      }
      return async () => {
        rmSync(filler, { force: true });
        // An agent that gave up on a full disk is started again (a supervisor would do it).
        if (!c.agents.get(target)!.running()) await c.agents.get(target)!.start();
      };
    },
  },
];
