// This datacenter's service catalog (nodes, services, checks) and prepared queries: local state in
// LMDB, never replicated (as in Consul), with Consul's bodies, health rules and query failover.
export { openCatalog, type CatalogStore, type CatalogOp, type CatalogTable } from './store.js';
export { createCatalogService, type CatalogService, type CatalogServiceDeps, type QuerySpec, type ExecuteResult } from './service.js';
export { aggregateStatus, serviceInstances, connectInstances, toConsulInstance, toConsulNode, toConsulService, toConsulCheck, toConsulServiceNode, type InstanceFilter } from './health.js';
export { parseQueryBody, resolveQuery, renderQuery, failoverOrder, toConsulQuery, checkQueryNames } from './queries.js';
export { parseCatalogRegister, parseCatalogDeregister, parseAgentServiceRegister, SIDECAR_PORT_RANGE } from './register.js';
export { createCheckRunner, type CheckRunner } from './check-runner.js';
export type * from './types.js';
