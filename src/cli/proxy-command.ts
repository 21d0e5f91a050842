import type { Command } from 'commander';
import { createLogger, errorMessage, isTrellisError } from '../common/index.js';
import { createAgentClient, createProxy, parseHostPort, parseUpstreamFlag, type UpstreamSpec } from '../proxy/index.js';
import { CliExit } from './exit.js';
import { tokenFromFile } from './intention-commands.js';
import { resolveHttpAddr } from './http-addr.js';
import type { CliIo } from './main.js';
import { shutdownSignal } from './signals.js';

interface ProxyFlags {
  service?: string;
  serviceAddr?: string;
  listen?: string;
  upstream?: string[];
  datacenter?: string;
  sidecarFor?: string;
  register?: boolean;
  registerId?: string;
  httpAddr?: string;
  token?: string;
  logLevel: string;
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

function usage(message: string): never {
  throw new CliExit(1, message);
}

interface AgentProxyService {
  ID: string;
  Service: string;
  Kind?: string;
  Address: string;
  Port: number;
  Proxy?: {
    DestinationServiceName: string;
    DestinationServiceID: string;
    LocalServiceAddress: string;
    LocalServicePort: number;
    Upstreams?: Array<{ DestinationType: 'service' | 'prepared_query'; DestinationName: string; Datacenter: string; LocalBindAddress: string; LocalBindPort: number }>;
  };
}

/** `-sidecar-for ID`: the proxy's whole configuration from its registration in the local agent, as Consul does. */
async function sidecarConfig(baseUrl: string, token: string | undefined, id: string) {
  const agent = createAgentClient(baseUrl, token);
  const { body } = await agent.get<Record<string, AgentProxyService>>('/v1/agent/services');
  const found = Object.values(body).filter((s) => s.Kind === 'connect-proxy' && s.Proxy?.DestinationServiceID === id);
  if (found.length === 0) usage(`No sidecar proxy registered for ${id}`);
  if (found.length > 1) usage(`More than one sidecar proxy registered for ${id}.\n    Start proxy with -register-id and one of the following IDs: ${found.map((s) => s.ID).join(', ')}`);
  const p = found[0] as AgentProxyService;
  const proxy = p.Proxy as NonNullable<AgentProxyService['Proxy']>;
  return {
    service: proxy.DestinationServiceName,
    listen: { host: p.Address || '0.0.0.0', port: p.Port },
    serviceAddr: { host: proxy.LocalServiceAddress || '127.0.0.1', port: proxy.LocalServicePort },
    upstreams: (proxy.Upstreams ?? []).map(
      (u): UpstreamSpec => ({ destinationType: u.DestinationType, destinationName: u.DestinationName, datacenter: u.Datacenter, localBindAddress: u.LocalBindAddress || '127.0.0.1', localBindPort: u.LocalBindPort }),
    ),
  };
}

/**
 * `trellis connect proxy`, Consul's flags: -service, -service-addr, -listen, -upstream
 * NAME:[HOST:]PORT (NAME.query for a prepared query), -datacenter (where upstream services are
 * looked up), -sidecar-for, -register, -http-addr, -token, -log-level.
 */
export function registerProxyCommand(connect: Command, io: CliIo): void {
  connect
    .command('proxy')
    .description('Run the built-in mTLS proxy for a service: inbound (authorized by intentions) and upstreams in any datacenter or behind a prepared query')
    .option('--service <name>', 'the service this proxy represents (its certificate, and the target of authorization)')
    .option('--service-addr <host:port>', 'the local service inbound connections are passed to (needs -listen)')
    .option('--listen <host:port>', 'where the proxy accepts mTLS connections from other proxies')
    .option('--upstream <NAME:[HOST:]PORT>', 'a local listener for an upstream: "db:8181", "db:0.0.0.0:8181", "payments.query:8282" for a prepared query; repeatable', collect)
    .option('--datacenter <dc>', 'the datacenter upstream services are found in (default: the agent\'s own)')
    .option('--sidecar-for <service-id>', 'take the whole configuration from the sidecar proxy registered for this service ID')
    .option('--register', 'register the proxy in the local agent (as <service>-proxy, a connect-proxy) while it runs')
    .option('--register-id <id>', 'the ID to register the proxy under')
    .option('--http-addr <addr>', 'the local agent\'s HTTP address (CONSUL_HTTP_ADDR; default 127.0.0.1:8500)')
    .option('--token <token>', 'ACL token (CONSUL_HTTP_TOKEN)')
    .option('--log-level <level>', 'trace, debug, info, warn or error', 'info')
    .action(async (flags: ProxyFlags) => {
      const baseUrl = resolveHttpAddr(flags.httpAddr, io.env);
      const token = flags.token ?? io.env.CONSUL_HTTP_TOKEN ?? tokenFromFile(io.env.CONSUL_HTTP_TOKEN_FILE);
      if (!flags.service && !flags.sidecarFor) usage('Service name must be specified with -service or -sidecar-for');
      if (flags.service && flags.sidecarFor) usage('-service and -sidecar-for cannot be used together');
      let config: { service: string; listen?: { host: string; port: number }; serviceAddr?: { host: string; port: number }; upstreams: UpstreamSpec[] };
      try {
        if (flags.sidecarFor) {
          config = await sidecarConfig(baseUrl, token, flags.sidecarFor);
        } else {
          const upstreams = (flags.upstream ?? []).map((u) => parseUpstreamFlag(u, flags.datacenter ?? ''));
          if (flags.serviceAddr && !flags.listen) usage('-service-addr requires -listen: the address other proxies connect to');
          config = {
            service: flags.service ?? '',
            ...(flags.listen ? { listen: parseHostPort(flags.listen, '-listen') } : {}),
            ...(flags.serviceAddr ? { serviceAddr: parseHostPort(flags.serviceAddr, '-service-addr') } : {}),
            upstreams,
          };
        }
      } catch (err) {
        if (err instanceof CliExit) throw err;
        throw new CliExit(1, isTrellisError(err) ? err.message : `Error: ${errorMessage(err)}`);
      }
      if (!config.listen && config.upstreams.length === 0) usage('Nothing to do: give -listen with -service-addr for inbound connections, or at least one -upstream');

      const logger = createLogger({ level: flags.logLevel });
      const proxy = createProxy({ ...config, agentHttpUrl: baseUrl, ...(token ? { token } : {}) }, { logger });
      try {
        await proxy.start();
      } catch (err) {
        await proxy.stop();
        throw new CliExit(1, `==> Failed to start the proxy: ${errorMessage(err)}`);
      }
      const agent = createAgentClient(baseUrl, token);
      const { inbound, upstreams } = proxy.addresses();
      const registerId = flags.registerId ?? `${config.service}-proxy`;
      if (flags.register) {
        if (!inbound || !config.serviceAddr) {
          await proxy.stop();
          usage('-register needs -listen and -service-addr: only a proxy that accepts connections can be found by others');
        }
        const host = config.listen?.host && config.listen.host !== '0.0.0.0' && config.listen.host !== '::' ? config.listen.host : '';
        await agent.put('/v1/agent/service/register', {
          ID: registerId,
          Name: `${config.service}-proxy`,
          Kind: 'connect-proxy',
          Address: host,
          Port: inbound.port,
          Proxy: { DestinationServiceName: config.service, DestinationServiceID: config.service, LocalServiceAddress: config.serviceAddr.host, LocalServicePort: config.serviceAddr.port },
          Check: { Name: 'Connect Proxy Listening', TCP: `${host || '127.0.0.1'}:${inbound.port}`, Interval: '5s' },
        });
        io.stdout(`==> Registered ${registerId} (connect-proxy for ${config.service}) with the agent\n`);
      }
      if (inbound && config.serviceAddr) io.stdout(`==> Inbound listening on ${inbound.address}:${inbound.port} (mTLS) → ${config.serviceAddr.host}:${config.serviceAddr.port}\n`);
      for (const u of config.upstreams) {
        const key = `${u.destinationType === 'prepared_query' ? `${u.destinationName}.query` : u.destinationName}:${u.localBindPort}`;
        const a = upstreams.get(key);
        const where = u.destinationType === 'prepared_query' ? 'prepared query' : `service, datacenter ${u.datacenter || '(local)'}`;
        io.stdout(`==> Upstream ${u.destinationName} (${where}) listening on ${a?.address ?? u.localBindAddress}:${a?.port ?? u.localBindPort}\n`);
      }
      io.stdout(`==> Proxy for ${config.service} running; Ctrl-C stops it\n`);
      await shutdownSignal();
      io.stdout('==> Stopping\n');
      if (flags.register) await agent.put(`/v1/agent/service/deregister/${encodeURIComponent(registerId)}`, undefined).catch(() => undefined);
      await proxy.stop();
    });
}
