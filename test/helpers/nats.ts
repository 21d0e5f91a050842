import { join } from 'node:path';
import { findNatsServer, startDatacenterServers, type RunningNatsServer } from '../../src/natsd/index.js';
import { makeTempDir } from './temp.js';

export interface TestNats {
  readonly servers: ReadonlyMap<string, RunningNatsServer>;
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
    async stop() {
      await started.stop();
      for (const s of started.servers.values()) running.delete(s);
    },
  };
}
