// Running real nats-servers: finding the binary, rendering a datacenter's config (JetStream domain,
// leafnodes), starting and stopping processes, and the hub-and-leaves topology `trellis dev` uses.
export { findNatsServer } from './find-nats-server.js';
export { renderNatsConfig, type NatsServerSpec } from './config.js';
export { startNatsServer, freePort, waitForLeafnodes, type RunningNatsServer, type StartNatsServerOptions } from './server.js';
export { startDatacenterServers, type DatacenterServers, type DatacenterAccess, type IssuedCredentials, type StartDatacenterServersOptions } from './topology.js';
export { natsConnectionOptions, readCredentialsFile, writeCredentialsFile, type NatsCredentials } from './credentials.js';
export { agentPermissions, readerPermissions, leafPermissions, inboxPrefixFor, readerUser, leafUser, type NatsPermissions } from './permissions.js';
export { ensureDevTls, type TlsFiles } from './dev-tls.js';
