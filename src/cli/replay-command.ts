import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import cliProgress from 'cli-progress';
import { connect } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { firstDifference, parseAt, replayInto } from '../audit/index.js';
import { errorMessage, silentLogger } from '../common/index.js';
import { openView, type SnapshotOrigin, type ViewSnapshot } from '../view/index.js';
import { newestSnapshot, openSnapshotStore, readSnapshot } from '../snapshot/index.js';
import { CliExit } from './exit.js';
import { natsOptions } from './nats-options.js';
import type { CliIo } from './main.js';

interface ReplayFlags {
  to?: string;
  fromDatacenter?: string;
  dataDir?: string;
  out?: string;
  verify?: boolean;
  natsUrl?: string;
  natsCreds?: string;
  snapshotFrom?: string;
  checkSnapshots?: boolean;
}

/**
 * `trellis replay`: rebuild a view from sequence 1 of a datacenter's stream (hash chain checked), or
 * from the primary's newest snapshot (`--snapshot-from`) and the events after it,
 * with a progress bar on a terminal (plain lines otherwise); `--verify` compares the rebuilt
 * tables with the live view in `--data-dir` and names the first differing key.
 */
export function registerReplayCommand(program: Command, io: CliIo): void {
  program
    .command('replay')
    .description('Rebuild a view from the event log (to a sequence or a time), and optionally verify the live view against it')
    .option('--to <seq|time>', 'stop after this sequence, or after the last event decided at or before this RFC 3339 time')
    .option('--from-datacenter <dc>', "whose stream to read: its JetStream domain (default: TRELLIS_DATACENTER or dc1)")
    .option('--data-dir <dir>', "the agent's data directory (its live view is <dir>/view)")
    .option('--out <dir>', 'where to write the rebuilt view (default <data-dir>/replay-<time>)')
    .option('--verify', 'compare the rebuilt tables with the live view; exit 1 on any difference')
    .option('--snapshot-from <primary>', "start from the newest view snapshot (at or before -to) in this datacenter's object store: the primary")
    .option('--check-snapshots', 'check every SnapshotTaken record on the way against the replayed view')
    .option('--nats-url <url>', "the datacenter's nats-server (TRELLIS_NATS_URL; default nats://127.0.0.1:4222)")
    .option('--nats-creds <file>', 'a NATS credentials file (TRELLIS_NATS_CREDS), such as the reader.json `trellis dev` writes')
    .action(async (flags: ReplayFlags) => {
      if (!flags.dataDir) throw new CliExit(1, 'The -data-dir flag is required');
      const dataDir = resolve(flags.dataDir);
      const out = resolve(flags.out ?? join(dataDir, `replay-${new Date().toISOString().replace(/[:.]/g, '-')}`));
      if (existsSync(out) && readdirSync(out).length > 0) throw new CliExit(1, `${out} is not empty: replay writes a fresh view`);
      let to: { seq: number } | { time: number } | undefined;
      try {
        to = flags.to ? parseAt(flags.to) : undefined;
      } catch (err) {
        throw new CliExit(1, `-to: ${errorMessage(err)}`);
      }
      const livePath = join(dataDir, 'view');
      if (flags.verify && !existsSync(livePath)) throw new CliExit(1, `-verify: there is no live view at ${livePath}`);
      const url = flags.natsUrl ?? io.env.TRELLIS_NATS_URL ?? 'nats://127.0.0.1:4222';
      const domain = flags.fromDatacenter ?? io.env.TRELLIS_DATACENTER ?? 'dc1';
      let nc;
      try {
        nc = await connect({ ...natsOptions(url, flags.natsCreds ?? io.env.TRELLIS_NATS_CREDS), name: 'trellis-replay' });
      } catch (err) {
        throw new CliExit(1, `Error connecting to ${url}: ${errorMessage(err)}`);
      }
      mkdirSync(out, { recursive: true, mode: 0o700 });
      const rebuilt = openView({ path: join(out, 'view'), logger: silentLogger() });
      const live = flags.verify ? openView({ path: livePath, logger: silentLogger() }) : undefined;
      // With --verify and no --to, replay exactly as far as the live view has applied.
      const target = to ?? (live ? { seq: live.appliedSeq() } : undefined);
      // A bar on a terminal; plain lines (one a second) in logs and CI.
      const tty = process.stderr.isTTY === true;
      const bar = tty ? new cliProgress.SingleBar({ format: 'replay |{bar}| {value}/{total} events | {speed} ev/s | ETA {eta_formatted}', stream: process.stderr }, cliProgress.Presets.shades_classic) : undefined;
      const started = performance.now();
      let lastLine = 0;
      try {
        let snapshot: { snapshot: ViewSnapshot; origin: SnapshotOrigin } | undefined;
        if (flags.snapshotFrom) {
          const store = await openSnapshotStore(jetstream(nc, { domain: flags.snapshotFrom }));
          const limit = target && 'seq' in target ? target.seq : undefined;
          const info = store ? await newestSnapshot(store, limit) : undefined;
          if (!store || !info) throw new CliExit(1, `${flags.snapshotFrom} has no view snapshot${limit === undefined ? '' : ` at or before ${limit}`}`);
          snapshot = { snapshot: await readSnapshot(store, info), origin: { seq: info.seq, digest: info.digest } };
        }
        const result = await replayInto({
          ...(snapshot ? { snapshot } : {}),
          checkSnapshots: flags.checkSnapshots === true,
          js: jetstream(nc, { domain }),
          jsm: await jetstreamManager(nc, { domain }),
          view: rebuilt,
          ...(target ? { to: target } : {}),
          onProgress: ({ applied, total }) => {
            const seconds = (performance.now() - started) / 1000;
            const speed = Math.round(applied / Math.max(seconds, 0.001));
            if (bar) {
              if (bar.getTotal() !== total) bar.start(total, 0, { speed });
              bar.update(applied, { speed });
            } else if (performance.now() - lastLine > 1000 || applied === total) {
              lastLine = performance.now();
              const eta = speed > 0 ? Math.round((total - applied) / speed) : 0;
              io.stderr(`replayed ${applied}/${total} events (${speed} events/s, ETA ${eta}s)\n`);
            }
          },
        });
        bar?.stop();
        io.stdout(`Replayed ${result.events} events of ${domain} into ${join(out, 'view')} in ${result.seconds.toFixed(2)} s (${Math.round(result.events / Math.max(result.seconds, 0.001))} events/s); hash chain verified\n`);
        if (result.fromSnapshot !== undefined) io.stdout(`Started from ${flags.snapshotFrom}'s snapshot as of ${result.fromSnapshot} (checked against its SnapshotTaken record)\n`);
        if (flags.checkSnapshots) io.stdout(`${result.snapshotsVerified} snapshot records checked against the replayed view\n`);
        if (live) {
          if (live.appliedSeq() !== result.seq) throw new CliExit(1, `the live view is at event ${live.appliedSeq()}, the replay at ${result.seq}: stop the agent or pass -to ${live.appliedSeq()}`);
          const difference = firstDifference(rebuilt.dump(), live.dump());
          if (difference) throw new CliExit(1, `Divergence: the live view differs from the replay at ${difference}`);
          io.stdout(`Verified: the live view's tables equal the replay's at event ${result.seq}\n`);
        }
      } catch (err) {
        bar?.stop();
        if (err instanceof CliExit) throw err;
        throw new CliExit(1, `Error replaying: ${errorMessage(err)}`);
      } finally {
        await rebuilt.close();
        await live?.close();
        await nc.close();
      }
    });
}
