import { mkdirSync } from 'node:fs';
import { open, type Database, type RootDatabase } from 'lmdb';
import type { Logger } from '../common/index.js';
import { createWaiters } from '../view/index.js';
import type { CheckRow, NodeRow, PreparedQueryRow, ServiceRow } from './types.js';

type Indexed = 'CreateIndex' | 'ModifyIndex';
export type NodeInput = Omit<NodeRow, Indexed>;
export type ServiceInput = Omit<ServiceRow, Indexed>;
export type CheckInput = Omit<CheckRow, Indexed>;
export type QueryInput = Omit<PreparedQueryRow, Indexed>;

/** One change to the catalog; a list of them commits in one LMDB transaction under one index. */
export type CatalogOp =
  | { readonly op: 'put-node'; readonly node: NodeInput }
  | { readonly op: 'delete-node'; readonly node: string }
  | { readonly op: 'put-service'; readonly service: ServiceInput }
  | { readonly op: 'delete-service'; readonly node: string; readonly id: string }
  | { readonly op: 'put-check'; readonly check: CheckInput }
  | { readonly op: 'delete-check'; readonly node: string; readonly id: string }
  | { readonly op: 'put-query'; readonly query: QueryInput }
  | { readonly op: 'delete-query'; readonly id: string };

/** The index a blocking query waits on: the catalog proper, or the prepared queries. */
export type CatalogTable = 'catalog' | 'queries';

export interface CatalogStore {
  /** The index of the last change to a table (1 when never changed: never 0, as Consul). */
  tableIndex(table: CatalogTable): number;
  waitForIndex(table: CatalogTable, minIndex: number, waitMs: number, signal?: AbortSignal): Promise<number>;
  node(name: string): NodeRow | undefined;
  nodes(): IterableIterator<NodeRow>;
  service(node: string, id: string): ServiceRow | undefined;
  services(): IterableIterator<ServiceRow>;
  servicesNamed(name: string): ServiceRow[];
  servicesOfNode(node: string): ServiceRow[];
  check(node: string, id: string): CheckRow | undefined;
  checks(): IterableIterator<CheckRow>;
  checksOfNode(node: string): CheckRow[];
  query(id: string): PreparedQueryRow | undefined;
  queries(): IterableIterator<PreparedQueryRow>;
  /** Datacenters this one has heard from, remembered across restarts. */
  knownDatacenters(): string[];
  rememberDatacenter(name: string): Promise<void>;
  /** Called after each committed change with the tables it touched. */
  onChange(listener: (tables: ReadonlySet<CatalogTable>) => void): () => void;
  /** Applies the ops in one transaction; resolves with the new index once durable (the old one when nothing changed). */
  apply(ops: readonly CatalogOp[]): Promise<number>;
  close(): Promise<void>;
}

const key = (node: string, id: string) => `${node}\u0000${id}`;

/** Equal apart from the indexes: re-registering what is there changes nothing and wakes nobody. */
function same(a: object | undefined, b: object): boolean {
  if (!a) return false;
  const strip = (o: object) => JSON.stringify({ ...o, CreateIndex: 0, ModifyIndex: 0 });
  return strip(a) === strip(b);
}

/**
 * This datacenter's catalog and prepared queries: local state, never replicated (as in Consul).
 * LMDB for durability, in-memory maps for reads; one index counter orders every change.
 */
export function openCatalog({ path, logger }: { path: string; logger: Logger }): CatalogStore {
  mkdirSync(path, { recursive: true, mode: 0o700 });
  const env: RootDatabase = open({ path, compression: false });
  const meta: Database<number, string> = env.openDB({ name: 'meta' });
  const tables = {
    nodes: env.openDB<NodeRow, string>({ name: 'nodes' }),
    services: env.openDB<ServiceRow, string>({ name: 'services' }),
    checks: env.openDB<CheckRow, string>({ name: 'checks' }),
    queries: env.openDB<PreparedQueryRow, string>({ name: 'queries' }),
    datacenters: env.openDB<number, string>({ name: 'datacenters' }),
  };
  const nodes = new Map<string, NodeRow>();
  const services = new Map<string, ServiceRow>();
  const checks = new Map<string, CheckRow>();
  const queries = new Map<string, PreparedQueryRow>();
  const byName = new Map<string, Set<string>>();
  for (const { key: k, value } of tables.nodes.getRange()) nodes.set(k, value);
  for (const { key: k, value } of tables.services.getRange()) services.set(k, value);
  for (const { key: k, value } of tables.checks.getRange()) checks.set(k, value);
  for (const { key: k, value } of tables.queries.getRange()) queries.set(k, value);
  const datacenters = new Set<string>(tables.datacenters.getKeys());
  const indexName = (s: ServiceRow) => {
    let set = byName.get(s.Service);
    if (!set) byName.set(s.Service, (set = new Set()));
    set.add(key(s.Node, s.ID));
  };
  for (const s of services.values()) indexName(s);
  let index = meta.get('index') ?? 1;
  const tableIndexes = new Map<CatalogTable, number>([
    ['catalog', meta.get('index:catalog') ?? 1],
    ['queries', meta.get('index:queries') ?? 1],
  ]);
  const waiters = createWaiters<CatalogTable>();
  const listeners = new Set<(tables: ReadonlySet<CatalogTable>) => void>();
  let chain: Promise<unknown> = Promise.resolve();
  logger.info({ path, nodes: nodes.size, services: services.size, queries: queries.size }, 'catalog opened');

  async function commit(ops: readonly CatalogOp[]): Promise<number> {
    const next = index + 1;
    // What changes, computed against memory (writes are serialized, so memory is current).
    const puts: Array<() => void> = [];
    const mem: Array<() => void> = [];
    const touched = new Set<CatalogTable>();
    const stagedNodes = new Map<string, NodeRow | null>();
    const stagedServices = new Map<string, ServiceRow | null>();
    const stagedChecks = new Map<string, CheckRow | null>();
    const stagedQueries = new Map<string, PreparedQueryRow | null>();
    const cur = <T>(staged: Map<string, T | null>, live: Map<string, T>, k: string): T | undefined => (staged.has(k) ? (staged.get(k) ?? undefined) : live.get(k));

    const removeService = (k: string) => {
      if (!cur(stagedServices, services, k)) return;
      stagedServices.set(k, null);
      const [node = '', id = ''] = k.split('\u0000');
      for (const [ck, c] of checks) if (c.Node === node && c.ServiceID === id && cur(stagedChecks, checks, ck)) stagedChecks.set(ck, null);
      for (const [ck, c] of stagedChecks) if (c && c.Node === node && c.ServiceID === id) stagedChecks.set(ck, null);
    };
    for (const op of ops) {
      switch (op.op) {
        case 'put-node': {
          const before = cur(stagedNodes, nodes, op.node.Node);
          const row: NodeRow = { ...op.node, CreateIndex: before?.CreateIndex ?? next, ModifyIndex: next };
          if (!same(before, row)) stagedNodes.set(op.node.Node, row);
          break;
        }
        case 'delete-node': {
          if (!cur(stagedNodes, nodes, op.node)) break;
          stagedNodes.set(op.node, null);
          for (const [k, s] of services) if (s.Node === op.node) removeService(k);
          for (const [k, c] of checks) if (c.Node === op.node) stagedChecks.set(k, null);
          break;
        }
        case 'put-service': {
          const k = key(op.service.Node, op.service.ID);
          const before = cur(stagedServices, services, k);
          const row: ServiceRow = { ...op.service, CreateIndex: before?.CreateIndex ?? next, ModifyIndex: next };
          if (!same(before, row)) stagedServices.set(k, row);
          break;
        }
        case 'delete-service':
          removeService(key(op.node, op.id));
          break;
        case 'put-check': {
          const k = key(op.check.Node, op.check.CheckID);
          const before = cur(stagedChecks, checks, k);
          const row: CheckRow = { ...op.check, CreateIndex: before?.CreateIndex ?? next, ModifyIndex: next };
          if (!same(before, row)) stagedChecks.set(k, row);
          break;
        }
        case 'delete-check': {
          const k = key(op.node, op.id);
          if (cur(stagedChecks, checks, k)) stagedChecks.set(k, null);
          break;
        }
        case 'put-query': {
          const before = cur(stagedQueries, queries, op.query.ID);
          const row: PreparedQueryRow = { ...op.query, CreateIndex: before?.CreateIndex ?? next, ModifyIndex: next };
          if (!same(before, row)) stagedQueries.set(op.query.ID, row);
          break;
        }
        case 'delete-query':
          if (cur(stagedQueries, queries, op.id)) stagedQueries.set(op.id, null);
          break;
      }
    }
    const stage = <T extends object>(staged: Map<string, T | null>, live: Map<string, T>, db: Database<T, string>, table: CatalogTable, onSet?: (k: string, before: T | undefined, after: T | null) => void) => {
      for (const [k, row] of staged) {
        touched.add(table);
        puts.push(() => (row ? void db.put(k, row) : void db.remove(k)));
        mem.push(() => {
          onSet?.(k, live.get(k), row);
          if (row) live.set(k, row);
          else live.delete(k);
        });
      }
    };
    stage(stagedNodes, nodes, tables.nodes, 'catalog');
    stage(stagedServices, services, tables.services, 'catalog', (k, before, after) => {
      if (before) byName.get(before.Service)?.delete(k);
      if (after) indexName(after);
    });
    stage(stagedChecks, checks, tables.checks, 'catalog');
    stage(stagedQueries, queries, tables.queries, 'queries');
    if (touched.size === 0) return index;

    await env.transaction(() => {
      for (const put of puts) put();
      void meta.put('index', next);
      for (const t of touched) void meta.put(`index:${t}`, next);
    });
    index = next;
    for (const m of mem) m();
    for (const t of touched) {
      tableIndexes.set(t, next);
      waiters.notify(t, next);
    }
    for (const l of listeners) l(touched);
    return next;
  }

  return {
    tableIndex: (t) => tableIndexes.get(t) ?? 1,
    waitForIndex(t, minIndex, waitMs, signal) {
      return waiters.wait(t, () => tableIndexes.get(t) ?? 1, minIndex, waitMs, signal);
    },
    node: (name) => nodes.get(name),
    nodes: () => nodes.values(),
    service: (node, id) => services.get(key(node, id)),
    services: () => services.values(),
    servicesNamed(name) {
      const keys = byName.get(name);
      return keys ? [...keys].map((k) => services.get(k)).filter((s): s is ServiceRow => s !== undefined) : [];
    },
    servicesOfNode: (node) => [...services.values()].filter((s) => s.Node === node),
    check: (node, id) => checks.get(key(node, id)),
    checks: () => checks.values(),
    checksOfNode: (node) => [...checks.values()].filter((c) => c.Node === node),
    query: (id) => queries.get(id),
    queries: () => queries.values(),
    knownDatacenters: () => [...datacenters].sort(),
    async rememberDatacenter(name) {
      if (datacenters.has(name)) return;
      datacenters.add(name);
      await tables.datacenters.put(name, Date.now());
    },
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    apply(ops) {
      const run = chain.then(() => commit(ops));
      chain = run.catch(() => undefined);
      return run;
    },
    async close() {
      waiters.closeAll();
      await chain;
      await env.close();
    },
  };
}
