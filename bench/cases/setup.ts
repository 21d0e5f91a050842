import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/nats-core';
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { findNatsServer, natsConnectionOptions, startDatacenterServers, type DatacenterServers } from '../../src/natsd/index.js';
import { ensureStream, eventsMirrorDefinition, eventsStreamDefinition } from '../../src/log/index.js';
import { silentLogger } from '../../src/common/index.js';
import { chainEvent, eventHash, eventSubject, EVENTS_STREAM, GENESIS_PREV, type TrellisEvent } from '../../src/events/index.js';
import { createEventLog } from '../../src/log/index.js';

export interface BenchDc {
  readonly name: string;
  readonly url: string;
  /** The datacenter's read-only credentials file (subscribers). */
  readonly readerCreds: string;
  /** The datacenter's agent credentials file (an agent process). */
  readonly agentCreds: string;
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
    dcs.set(name, { name, url, readerCreds: access.reader.file, agentCreds: access.agent.file, nc, js, jsm });
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

/**
 * Appends `total` chained intention events (5,000 intentions, created then updated) to a
 * datacenter's stream after sequence `after` (continuing its hash chain), through trellis's own
 * pipelined appender: js.publish spends most of its time building an Error per request, which would
 * make the set-up the slowest part of a run.
 */
export async function fillStream(dc: BenchDc, total: number, after = 0): Promise<void> {
  const log = createEventLog({ nc: dc.nc, jsm: dc.jsm });
  const ids = 5000;
  let pending: Promise<unknown>[] = [];
  const last = after > 0 ? await dc.jsm.streams.getMessage(EVENTS_STREAM, { seq: after }) : null;
  let prev = last ? eventHash(last.data) : GENESIS_PREV;
  for (let k = 0; k < total; k++) {
    const i = after + k;
    const id = `00000000-0000-4000-8000-${String(i % ids).padStart(12, '0')}`;
    const intention = {
      ID: id,
      SourceNS: 'default',
      SourceName: `web-${i % ids}`,
      DestinationNS: 'default',
      DestinationName: 'db',
      SourceType: 'consul' as const,
      Action: i % 2 ? ('allow' as const) : ('deny' as const),
      Description: 'bench',
      Meta: { team: 'a' },
      Precedence: 9,
      CreatedAt: 1_700_000_000_000,
      UpdatedAt: 1_700_000_000_000 + i,
    };
    const event: TrellisEvent = i < ids ? { v: 1, type: 'IntentionCreated', at: i, by: 'bench', data: { intention } } : { v: 1, type: 'IntentionUpdated', at: i, by: 'bench', data: { intention } };
    const chained = chainEvent(event, prev);
    prev = chained.hash;
    pending.push(log.appendRaw(eventSubject(event), chained.bytes, { expectedLastSeq: i }));
    if (pending.length >= 512) {
      await Promise.all(pending);
      pending = [];
    }
  }
  await Promise.all(pending);
  log.close();
}
