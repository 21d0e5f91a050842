import { connect } from 'node:net';
import { TrellisError, errorMessage, type Logger } from '../common/index.js';
import { aggregateStatus } from './health.js';
import type { CatalogStore } from './store.js';
import type { CheckRow, HealthStatus } from './types.js';

export interface CheckRunner {
  /** Starts, stops or restarts the runners for this node's checks after a catalog change. */
  sync(): void;
  /** `PUT /v1/agent/check/pass|warn|fail|update/:id`: a TTL check's new status. */
  updateTtl(checkId: string, status: HealthStatus, output: string): Promise<void>;
  stop(): void;
}

const DEFAULT_TIMEOUT_MS = 10_000;

/**
 * Runs the checks the local agent owns (Consul's TTL, TCP, HTTP and alias checks) for services on
 * its node and writes their status into the catalog; unchanged results write nothing.
 */
export function createCheckRunner({ store, node, logger, now = Date.now }: { store: CatalogStore; node: string; logger: Logger; now?: () => number }): CheckRunner {
  const log = logger.child({ component: 'checks' });
  /** Per check: what it runs as (to restart on a change) and how to stop it. */
  const running = new Map<string, { signature: string; stop: () => void }>();
  const ttlDeadlines = new Map<string, NodeJS.Timeout>();
  const criticalSince = new Map<string, number>();
  let stopped = false;
  let syncQueued = false;
  // Any catalog change may start, stop or re-evaluate a check (alias checks follow their service).
  const unsubscribe = store.onChange((tables) => {
    if (!tables.has('catalog') || syncQueued || stopped) return;
    syncQueued = true;
    setImmediate(() => {
      syncQueued = false;
      runner.sync();
    });
  });

  async function setStatus(checkId: string, status: HealthStatus, output: string): Promise<void> {
    const current = store.check(node, checkId);
    if (!current || stopped) return;
    if (current.Status === status && current.Output === output) return;
    await store.apply([{ op: 'put-check', check: { ...current, Status: status, Output: output } }]);
    await reapIfCritical(store.check(node, checkId));
  }

  /** Consul's DeregisterCriticalServiceAfter: a service whose check stayed critical that long is removed. */
  async function reapIfCritical(check: CheckRow | undefined): Promise<void> {
    if (!check) return;
    const after = check.Definition.DeregisterCriticalServiceAfterMs;
    if (check.Status !== 'critical') {
      criticalSince.delete(check.CheckID);
      return;
    }
    if (after === undefined || !check.ServiceID) return;
    const since = criticalSince.get(check.CheckID) ?? now();
    criticalSince.set(check.CheckID, since);
    if (now() - since >= after) {
      log.info({ service: check.ServiceID, check: check.CheckID }, 'deregistering a service critical for longer than DeregisterCriticalServiceAfter');
      await store.apply([{ op: 'delete-service', node, id: check.ServiceID }]);
    }
  }

  const report = (p: Promise<void>, checkId: string) => p.catch((err: unknown) => log.warn({ check: checkId, err: errorMessage(err) }, 'could not record a check result'));

  function every(checkId: string, intervalMs: number, probe: () => Promise<[HealthStatus, string]>): () => void {
    let timer: NodeJS.Timeout | undefined;
    let active = true;
    const run = () => {
      void probe()
        .then(([status, output]) => (active ? setStatus(checkId, status, output) : undefined))
        .catch((err: unknown) => log.warn({ check: checkId, err: errorMessage(err) }, 'check failed to run'))
        .finally(() => {
          if (active) {
            timer = setTimeout(run, intervalMs);
            timer.unref();
          }
        });
    };
    run();
    return () => {
      active = false;
      if (timer) clearTimeout(timer);
    };
  }

  function tcpProbe(address: string, timeoutMs: number): Promise<[HealthStatus, string]> {
    const i = address.lastIndexOf(':');
    const host = address.slice(0, i).replace(/^\[|\]$/g, '');
    const port = Number(address.slice(i + 1));
    return new Promise((resolve) => {
      const socket = connect({ host, port, timeout: timeoutMs });
      socket.once('connect', () => {
        socket.destroy();
        resolve(['passing', `TCP connect ${address}: Success`]);
      });
      socket.once('timeout', () => {
        socket.destroy();
        resolve(['critical', `dial tcp ${address}: i/o timeout`]);
      });
      socket.once('error', (err) => resolve(['critical', `dial tcp ${address}: ${err.message}`]));
    });
  }

  async function httpProbe(url: string, method: string, timeoutMs: number): Promise<[HealthStatus, string]> {
    try {
      const res = await fetch(url, { method, signal: AbortSignal.timeout(timeoutMs), redirect: 'follow' });
      const body = (await res.text()).slice(0, 4096);
      const line = `HTTP ${method} ${url}: ${res.status} ${res.statusText} Output: ${body}`;
      // Consul: 2xx passing, 429 Too Many Requests warning, anything else critical.
      if (res.status >= 200 && res.status < 300) return ['passing', line];
      return [res.status === 429 ? 'warning' : 'critical', line];
    } catch (err) {
      return ['critical', `Get "${url}": ${errorMessage(err)}`];
    }
  }

  function aliasStatus(check: CheckRow): [HealthStatus, string] {
    const target = check.Definition.AliasService ?? '';
    if (!store.service(node, target)) return ['critical', `Service ${target} could not be found on node ${node}`];
    const checks = store.checksOfNode(node).filter((c) => c.ServiceID === target || c.ServiceID === '');
    const status = aggregateStatus(checks.filter((c) => c.CheckID !== check.CheckID));
    return [status, status === 'passing' ? 'All checks passing.' : `Aliased service ${target} is ${status}`];
  }

  function start(check: CheckRow): () => void {
    const d = check.Definition;
    const timeout = d.TimeoutMs ?? DEFAULT_TIMEOUT_MS;
    if (d.TCP && d.IntervalMs) return every(check.CheckID, d.IntervalMs, () => tcpProbe(d.TCP ?? '', timeout));
    if (d.HTTP && d.IntervalMs) return every(check.CheckID, d.IntervalMs, () => httpProbe(d.HTTP ?? '', d.Method ?? 'GET', timeout));
    if (d.TTLMs) {
      armTtl(check.CheckID, d.TTLMs);
      return () => clearTimeout(ttlDeadlines.get(check.CheckID));
    }
    return () => undefined;
  }

  function armTtl(checkId: string, ttlMs: number): void {
    clearTimeout(ttlDeadlines.get(checkId));
    const timer = setTimeout(() => void report(setStatus(checkId, 'critical', 'TTL expired'), checkId), ttlMs);
    timer.unref();
    ttlDeadlines.set(checkId, timer);
  }

  const runner: CheckRunner = {
    sync() {
      if (stopped) return;
      const mine = store.checksOfNode(node).filter((c) => c.Type !== '');
      const seen = new Set<string>();
      for (const check of mine) {
        seen.add(check.CheckID);
        if (check.Type === 'alias') {
          const [status, output] = aliasStatus(check);
          void report(setStatus(check.CheckID, status, output), check.CheckID);
          continue;
        }
        const signature = JSON.stringify(check.Definition);
        const existing = running.get(check.CheckID);
        if (existing?.signature === signature) continue;
        existing?.stop();
        running.set(check.CheckID, { signature, stop: start(check) });
      }
      for (const [id, r] of running) {
        if (seen.has(id)) continue;
        r.stop();
        running.delete(id);
        ttlDeadlines.delete(id);
      }
    },
    async updateTtl(checkId, status, output) {
      const check = store.check(node, checkId);
      if (!check) throw new TrellisError('E_NOT_FOUND', `Unknown check ID "${checkId}". Ensure that the check ID is passed, not the check name.`);
      if (check.Type !== 'ttl') throw new TrellisError('E_VALIDATION', `CheckID "${checkId}" does not have associated TTL`);
      if (check.Definition.TTLMs) armTtl(checkId, check.Definition.TTLMs);
      await setStatus(checkId, status, output);
    },
    stop() {
      stopped = true;
      unsubscribe();
      for (const r of running.values()) r.stop();
      running.clear();
      for (const t of ttlDeadlines.values()) clearTimeout(t);
    },
  };
  return runner;
}
