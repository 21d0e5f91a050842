// One datacenter's agent, composed from the domains: NATS connection, stream or mirror, view,
// projector, writer or forwarding, RPC, HTTP API; plus its Consul-style configuration.
export { startAgent, type Agent, type AgentDeps } from './agent.js';
export { agentFileSchema, parseAgentFile, readAgentFile, resolveAgentConfig, type AgentConfig, type AgentFileConfig } from './config.js';
export { createReplicationMonitor, type ReplicationMonitor } from './replication.js';
export { connectNats } from './nats-connect.js';
