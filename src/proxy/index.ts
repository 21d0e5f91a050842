// The built-in Connect proxy (`trellis connect proxy`): mTLS in front of a local service with
// authorize per connection, and local listeners for upstreams (services in any datacenter, or
// prepared queries) that dial over mTLS and check the destination's SPIFFE identity.
export { createProxy, type Proxy, type ProxyOptions, type ProxyStatus } from './proxy.js';
export { parseUpstreamFlag, parseHostPort, identityMismatch, uriSans, type UpstreamSpec } from './upstreams.js';
export { createAgentClient, endpointOf, watch, type AgentClient, type Endpoint } from './agent-client.js';
