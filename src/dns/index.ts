// Consul's DNS interface (UDP): services, prepared queries (with their failover) and nodes under
// the `consul.` domain, answered from this datacenter's catalog or, for `.<dc>.consul`, another's.
export { startDnsServer, type DnsServer, type DnsDeps } from './server.js';
