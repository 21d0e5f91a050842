import type { JetStreamClient } from '@nats-io/jetstream';
import { errorMessage, type Logger } from '../common/index.js';
import type { View } from '../view/index.js';
import { newestSnapshot, openSnapshotStore, readSnapshot, type SnapshotInfo } from './store.js';

export interface SnapshotLoad {
  readonly info: SnapshotInfo;
  readonly seconds: number;
}

/**
 * Fills an empty view from the primary's newest snapshot, read through the primary's JetStream
 * domain (`primaryJs`). The content digest is checked against the one published with it; the
 * projector checks it again against the SnapshotTaken event in the log, and the chain link of the
 * first event after it. Undefined (the view stays empty, the projector starts at 1) when there is
 * no snapshot or it cannot be read within `timeoutMs`.
 */
export async function loadNewestSnapshot({ primaryJs, view, logger, timeoutMs = 15_000 }: { primaryJs: JetStreamClient; view: View; logger: Logger; timeoutMs?: number }): Promise<SnapshotLoad | undefined> {
  if (view.appliedSeq() !== 0) return undefined;
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    const found = await Promise.race([
      (async () => {
        const store = await openSnapshotStore(primaryJs);
        const info = store ? await newestSnapshot(store) : undefined;
        return store && info ? { info, snapshot: await readSnapshot(store, info) } : undefined;
      })(),
      timeout,
    ]);
    if (!found) {
      logger.info('the primary has no view snapshot yet: replicating from the first event');
      return undefined;
    }
    await view.loadSnapshot(found.snapshot, { seq: found.info.seq, digest: found.info.digest });
    const seconds = (performance.now() - started) / 1000;
    logger.info({ seq: found.info.seq, rows: found.info.rows, bytes: found.info.size, seconds: Number(seconds.toFixed(3)) }, "view started from the primary's snapshot");
    return { info: found.info, seconds };
  } catch (err) {
    logger.warn({ err: errorMessage(err) }, "the primary's view snapshot could not be read: replicating from the first event");
    return undefined;
  } finally {
    clearTimeout(timer);
  }
}
