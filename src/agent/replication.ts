import type { JetStreamManager } from '@nats-io/jetstream';
import { Gauge, type Registry } from 'prom-client';
import { errorMessage, type Logger } from '../common/index.js';
import { EVENTS_STREAM } from '../events/index.js';
import type { ProjectorStatus } from '../projector/index.js';
import type { ViewReader } from '../view/index.js';
import type { ReplicationStatus } from '../api/index.js';

export interface ReplicationMonitor {
  status(): ReplicationStatus;
  /** Polls the local stream once (also runs every `intervalMs`). */
  refresh(): Promise<void>;
  stop(): void;
}

export interface ReplicationMonitorDeps {
  readonly datacenter: string;
  readonly primary: string;
  readonly jsm: JetStreamManager;
  readonly view: ViewReader & { lastAppliedAt(): number | undefined };
  readonly projector: () => ProjectorStatus;
  readonly logger: Logger;
  readonly registry?: Registry;
  /** @default 1000 */
  readonly intervalMs?: number;
  /** A mirror silent for longer than this is reported inactive. @default 10000 */
  readonly activeThresholdMs?: number;
  /** At a secondary: makes the mirror again when its server lost it (a wiped JetStream store). */
  readonly recreateMirror?: () => Promise<void>;
}

export function createReplicationMonitor(deps: ReplicationMonitorDeps): ReplicationMonitor {
  const { datacenter, primary, jsm, view, projector, logger, registry, intervalMs = 1000, activeThresholdMs = 10_000 } = deps;
  const isPrimary = datacenter === primary;
  const registers = registry ? [registry] : [];
  const lagGauge = new Gauge({ name: 'trellis_replication_lag_events', help: 'Events in the primary stream not yet applied to this view', registers });
  const sourceGauge = new Gauge({ name: 'trellis_replication_source_seq', help: "The primary stream's last sequence as last learned", registers });
  const activeGauge = new Gauge({ name: 'trellis_replication_mirror_active', help: '1 when the mirror (or, at the primary, the stream) is reachable', registers });
  let sourceIndex = view.appliedSeq();
  let active = isPrimary;
  let lastActiveMs: number | null = null;
  let timer: NodeJS.Timeout | undefined;
  let inflight: Promise<void> | undefined;

  async function poll(): Promise<void> {
    try {
      const info = await jsm.streams.info(EVENTS_STREAM);
      if (isPrimary) {
        sourceIndex = info.state.last_seq;
        active = true;
      } else if (info.mirror) {
        const activeMs = info.mirror.active >= 0 ? info.mirror.active / 1e6 : null;
        lastActiveMs = activeMs === null ? null : Math.round(activeMs);
        active = activeMs !== null && activeMs < activeThresholdMs;
        sourceIndex = Math.max(sourceIndex, info.state.last_seq + (info.mirror.lag ?? 0));
      }
    } catch (err) {
      active = false;
      // A leaf server that lost its store comes back without the mirror (found by the fault suite):
      // the mirror is derived data, so it is made again and copies the primary's stream from 1.
      if (!isPrimary && deps.recreateMirror && /stream not found/i.test(errorMessage(err))) {
        logger.warn({ stream: EVENTS_STREAM }, "this datacenter's mirror is gone (its nats-server lost its store): re-creating it");
        await deps.recreateMirror().catch((e: unknown) => logger.warn({ err: errorMessage(e) }, 'could not re-create the mirror yet'));
      } else {
        logger.debug({ err: errorMessage(err) }, 'stream info unavailable');
      }
    }
    const applied = view.appliedSeq();
    sourceIndex = Math.max(sourceIndex, applied);
    lagGauge.set(sourceIndex - applied);
    sourceGauge.set(sourceIndex);
    activeGauge.set(active ? 1 : 0);
  }

  function schedule(): void {
    timer = setTimeout(() => {
      void monitor.refresh().finally(schedule);
    }, intervalMs);
    timer.unref();
  }

  const monitor: ReplicationMonitor = {
    status() {
      const p = projector();
      const applied = view.appliedSeq();
      const source = Math.max(sourceIndex, applied);
      const at = view.lastAppliedAt();
      return {
        Datacenter: datacenter,
        Primary: primary,
        AppliedIndex: applied,
        SourceIndex: source,
        LagEvents: source - applied,
        LastAppliedAt: at === undefined ? null : new Date(at).toISOString(),
        MirrorActive: active,
        MirrorLastActiveMs: isPrimary ? null : lastActiveMs,
        Halted: p.halted,
        HaltReason: p.haltReason ?? null,
      };
    },
    refresh() {
      inflight ??= poll().finally(() => {
        inflight = undefined;
      });
      return inflight;
    },
    stop() {
      if (timer) clearTimeout(timer);
    },
  };
  schedule();
  return monitor;
}
