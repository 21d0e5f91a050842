import { join } from 'node:path';
import type { Logger } from '../common/index.js';
import { freePort, startNatsServer, waitForLeafnodes, type RunningNatsServer } from './server.js';

export interface DatacenterServers {
  readonly primary: string;
  readonly servers: ReadonlyMap<string, RunningNatsServer>;
  stop(): Promise<void>;
}

export interface StartDatacenterServersOptions {
  /** The first is the primary (the hub); the others join it as leafnodes. */
  readonly datacenters: readonly string[];
  readonly baseDir: string;
  readonly bin: string;
  readonly logger?: Logger;
}

/** One nats-server per datacenter, JetStream domain = datacenter name, secondaries leafnodes of the hub. */
export async function startDatacenterServers({ datacenters, baseDir, bin, logger }: StartDatacenterServersOptions): Promise<DatacenterServers> {
  const [primary, ...secondaries] = datacenters;
  if (!primary) throw new Error('at least one datacenter is needed');
  const servers = new Map<string, RunningNatsServer>();
  const stop = async () => {
    await Promise.all([...servers.values()].map((s) => s.stop()));
  };
  try {
    const leafPort = await freePort();
    const hub = await startNatsServer({
      spec: {
        name: primary,
        domain: primary,
        clientPort: await freePort(),
        httpPort: await freePort(),
        storeDir: join(baseDir, primary, 'jetstream'),
        leafListenPort: leafPort,
      },
      dir: join(baseDir, primary),
      bin,
      ...(logger ? { logger } : {}),
    });
    servers.set(primary, hub);
    await Promise.all(
      secondaries.map(async (dc) => {
        const server = await startNatsServer({
          spec: {
            name: dc,
            domain: dc,
            clientPort: await freePort(),
            httpPort: await freePort(),
            storeDir: join(baseDir, dc, 'jetstream'),
            leafRemotes: [`nats-leaf://127.0.0.1:${leafPort}`],
          },
          dir: join(baseDir, dc),
          bin,
          ...(logger ? { logger } : {}),
        });
        servers.set(dc, server);
      }),
    );
    await waitForLeafnodes(hub.monitorUrl, secondaries.length);
  } catch (err) {
    await stop();
    throw err;
  }
  return { primary, servers, stop };
}
