// The HTTP API: Consul's paths, JSON and status codes on fastify; blocking queries; the one
// mapping from TrellisError codes to HTTP statuses.
export { buildApi, type ApiContext, type ForwardedRequest, type ForwardedResponse } from './server.js';
export type { CatalogApi } from './routes/catalog.js';
export { httpStatusOf, HTTP_STATUS } from './errors.js';
export { parseBlockingParams, setQueryMeta, DEFAULT_WAIT_MS, MAX_WAIT_MS } from './blocking.js';
export type { IntentionApi } from './routes/intentions.js';
export type { ReplicationStatus } from './routes/status.js';
