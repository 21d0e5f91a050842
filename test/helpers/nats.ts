import { join } from 'node:path';
import { connect } from '@nats-io/transport-node';
import type { ConnectionOptions, NatsConnection } from '@nats-io/nats-core';
import { findNatsServer, natsConnectionOptions, startDatacenterServers, type DatacenterAccess, type RunningNatsServer, type TlsFiles } from '../../src/natsd/index.js';
import { makeTempDir } from './temp.js';

export interface TestNats {
  readonly servers: ReadonlyMap<string, RunningNatsServer>;
  /** Each datacenter's credentials (agent, reader) and their files. */
  readonly access: ReadonlyMap<string, DatacenterAccess>;
  /** The dev CA and server certificate the servers use. */
  readonly tls: TlsFiles;
  /** Where this test's servers keep their files. */
  readonly dir: string;
  /** Connects to a datacenter's nats-server as its agent (default) or its reader. */
  connect(dc: string, role?: 'agent' | 'reader', extra?: Partial<ConnectionOptions>): Promise<NatsConnection>;
  stop(): Promise<void>;
}

const running = new Set<RunningNatsServer>();
process.on('exit', () => {
  // A safety net: a test that failed before its cleanup must not leave servers behind.
  for (const s of running) if (s.running()) s.kill('SIGKILL');
});

/** Real nats-servers for a test: first datacenter the hub, the others leafnodes, in a temp dir. */
export async function startNats({ datacenters = ['dc1'] }: { datacenters?: string[] } = {}): Promise<TestNats> {
  const dir = makeTempDir('trellis-nats-');
  const started = await startDatacenterServers({ datacenters, baseDir: join(dir, 'nats'), bin: findNatsServer(process.env) });
  for (const s of started.servers.values()) running.add(s);
  return {
    servers: started.servers,
    access: started.access,
    tls: started.tls,
    dir,
    connect(dc, role = 'agent', extra = {}) {
      const access = started.access.get(dc);
      if (!access) throw new Error(`no nats-server for ${dc}`);
      return connect({ ...natsConnectionOptions(access[role].url, access[role]), ...extra });
    },
    async stop() {
      await started.stop();
      for (const s of started.servers.values()) running.delete(s);
    },
  };
}
