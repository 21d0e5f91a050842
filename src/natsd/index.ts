// Running real nats-servers: finding the binary, rendering a datacenter's config (JetStream domain,
// leafnodes), starting and stopping processes, and the hub-and-leaves topology `trellis dev` uses.
export { findNatsServer } from './find-nats-server.js';
export { renderNatsConfig, type NatsServerSpec } from './config.js';
export { startNatsServer, freePort, waitForLeafnodes, type RunningNatsServer, type StartNatsServerOptions } from './server.js';
export { startDatacenterServers, type DatacenterServers, type StartDatacenterServersOptions } from './topology.js';
