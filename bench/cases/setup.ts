import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/nats-core';
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { findNatsServer, natsConnectionOptions, startDatacenterServers, type DatacenterServers } from '../../src/natsd/index.js';
import { ensureStream, eventsMirrorDefinition, eventsStreamDefinition } from '../../src/log/index.js';
import { silentLogger } from '../../src/common/index.js';

export interface BenchDc {
  readonly name: string;
  readonly url: string;
  /** The datacenter's read-only credentials file (subscribers). */
  readonly readerCreds: string;
  readonly nc: NatsConnection;
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
}

export interface BenchCluster {
  readonly dir: string;
  readonly dcs: ReadonlyMap<string, BenchDc>;
  dc(name: string): BenchDc;
  stop(): Promise<void>;
}

/** Real nats-servers (first datacenter the hub), the events stream at the primary and mirrors elsewhere. */
export async function startBenchCluster(datacenters: string[], withStreams = true): Promise<BenchCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'trellis-bench-'));
  const servers: DatacenterServers = await startDatacenterServers({ datacenters, baseDir: join(dir, 'nats'), bin: findNatsServer(process.env) });
  const dcs = new Map<string, BenchDc>();
  const primary = datacenters[0]!;
  for (const name of datacenters) {
    const url = servers.servers.get(name)!.url;
    const access = servers.access.get(name)!;
    const nc = await connect(natsConnectionOptions(url, access.agent));
    const jsm = await jetstreamManager(nc, { domain: name });
    const js = jetstream(nc, { domain: name });
    if (withStreams) await ensureStream(jsm, name === primary ? eventsStreamDefinition() : eventsMirrorDefinition(primary), silentLogger());
    dcs.set(name, { name, url, readerCreds: access.reader.file, nc, js, jsm });
  }
  return {
    dir,
    dcs,
    dc: (name) => dcs.get(name)!,
    async stop() {
      for (const dc of dcs.values()) await dc.nc.close();
      await servers.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
