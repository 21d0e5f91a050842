import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { isIPv4, isIPv6 } from 'node:net';
import dnsPacket, { type Answer, type Packet, type Question } from 'dns-packet';
import { errorMessage, isTrellisError, parseDuration, type Logger } from '../common/index.js';
import type { ExecuteResult, QuerySpec } from '../catalog/index.js';

/** One instance as the DNS answer needs it (from a Consul CheckServiceNode). */
interface Endpoint {
  readonly node: string;
  readonly datacenter: string;
  readonly address: string;
  readonly port: number;
}

export interface DnsDeps {
  readonly datacenter: string;
  /** @default "consul" */
  readonly domain?: string;
  readonly logger: Logger;
  /** Healthy instances of a service (a prepared-query spec) in a datacenter, this one or another. */
  readonly lookupService: (datacenter: string, spec: QuerySpec) => Promise<readonly Record<string, unknown>[]>;
  /** Executes a prepared query by ID or name, in a datacenter, with its failover. */
  readonly executeQuery: (datacenter: string, idOrName: string) => Promise<ExecuteResult>;
  /** A node's address in a datacenter (this one only: other datacenters' nodes are not resolved). */
  readonly nodeAddress: (node: string) => string | undefined;
}

export interface DnsServer {
  readonly port: number;
  /** Answers one packet: exported for tests of the resolution rules without sockets. */
  answer(query: Packet): Promise<Packet>;
  close(): Promise<void>;
}

function endpointsOf(nodes: readonly Record<string, unknown>[], fallbackDc: string): Endpoint[] {
  return nodes.map((n) => {
    const node = (n.Node ?? {}) as { Node?: string; Address?: string; Datacenter?: string };
    const svc = (n.Service ?? {}) as { Address?: string; Port?: number };
    return { node: node.Node ?? '', datacenter: node.Datacenter ?? fallbackDc, address: svc.Address || node.Address || '', port: svc.Port ?? 0 };
  });
}

const spec = (service: string, tags: readonly string[]): QuerySpec => ({
  Service: service,
  OnlyPassing: false,
  IgnoreCheckIDs: [],
  Tags: tags,
  NodeMeta: {},
  ServiceMeta: {},
  Connect: false,
  Near: '',
  Limit: 0,
});

/**
 * Consul's DNS interface, the parts the geo-failover guide and service discovery use:
 * `<svc>.service[.<dc>].<domain>`, `<tag>.<svc>.service…`, RFC 2782 `_<svc>._<tag|tcp>.service…`,
 * `<query>.query[.<dc>].<domain>` (prepared queries with their failover) and `<node>.node.<domain>`;
 * A, AAAA, SRV and ANY; unhealthy (critical) instances left out; TTL 0 unless a query sets one.
 */
export async function startDnsServer(deps: DnsDeps, { host, port }: { host: string; port: number }): Promise<DnsServer> {
  const domain = (deps.domain ?? 'consul').toLowerCase();
  const log = deps.logger.child({ component: 'dns' });

  function parseName(name: string): { kind: 'service' | 'query' | 'node'; labels: string[]; dc: string } | undefined {
    const labels = name.toLowerCase().replace(/\.$/, '').split('.');
    if (labels.pop() !== domain) return undefined;
    // The datacenter is the label after the kind, when there is one.
    for (const kind of ['service', 'query', 'node'] as const) {
      const at = labels.lastIndexOf(kind);
      if (at <= 0) continue;
      const rest = labels.slice(at + 1);
      if (rest.length > 1) return undefined;
      return { kind, labels: labels.slice(0, at), dc: rest[0] ?? deps.datacenter };
    }
    return undefined;
  }

  function records(q: Question, endpoints: readonly Endpoint[], ttl: number): { answers: Answer[]; additionals: Answer[] } {
    const answers: Answer[] = [];
    const additionals: Answer[] = [];
    // dns-packet decodes type 255 as "ANY", which its typings do not list.
    const any = (q.type as string) === 'ANY';
    const wantsA = q.type === 'A' || any;
    const wantsAAAA = q.type === 'AAAA' || any;
    for (const e of endpoints) {
      const addressRecord = (name: string): Answer | undefined => {
        if (isIPv4(e.address)) return { type: 'A', name, ttl, class: 'IN', data: e.address };
        if (isIPv6(e.address)) return { type: 'AAAA', name, ttl, class: 'IN', data: e.address };
        return { type: 'CNAME', name, ttl, class: 'IN', data: e.address };
      };
      if (q.type === 'SRV' || any) {
        const target = `${e.node}.node.${e.datacenter}.${domain}`;
        answers.push({ type: 'SRV', name: q.name, ttl, class: 'IN', data: { priority: 1, weight: 1, port: e.port, target } });
        const extra = addressRecord(target);
        if (extra) additionals.push(extra);
      }
      const rec = addressRecord(q.name);
      if (rec && ((rec.type === 'A' && wantsA) || (rec.type === 'AAAA' && wantsAAAA) || (rec.type === 'CNAME' && (wantsA || wantsAAAA)))) answers.push(rec);
    }
    return { answers, additionals };
  }

  async function resolve(q: Question): Promise<{ answers: Answer[]; additionals: Answer[] } | undefined> {
    const parsed = parseName(q.name);
    if (!parsed) return undefined;
    const { kind, labels, dc } = parsed;
    if (kind === 'node') {
      const address = dc === deps.datacenter && labels.length === 1 ? deps.nodeAddress(labels[0] ?? '') : undefined;
      if (!address) return undefined;
      return records(q, [{ node: labels[0] ?? '', datacenter: dc, address, port: 0 }], 0);
    }
    if (kind === 'query') {
      if (labels.length !== 1) return undefined;
      const result = await deps.executeQuery(dc, labels[0] ?? '');
      const ttlMs = result.DNS.TTL ? parseDuration(result.DNS.TTL) : 0;
      return records(q, endpointsOf(result.Nodes, result.Datacenter), Math.floor(ttlMs / 1000));
    }
    // service: `<svc>`, `<tag>.<svc>`, or RFC 2782 `_<svc>._<tag>` (`_tcp` meaning no tag).
    let service: string | undefined;
    let tags: string[] = [];
    if (labels.length === 2 && labels[0]?.startsWith('_') && labels[1]?.startsWith('_')) {
      service = labels[0].slice(1);
      const tag = labels[1].slice(1);
      tags = tag === 'tcp' ? [] : [tag];
    } else if (labels.length === 1) service = labels[0];
    else if (labels.length === 2) {
      service = labels[1];
      tags = [labels[0] ?? ''];
    }
    if (!service) return undefined;
    return records(q, endpointsOf(await deps.lookupService(dc, spec(service, tags)), dc), 0);
  }

  async function answer(query: Packet): Promise<Packet> {
    const questions = query.questions ?? [];
    const response: Packet = { id: query.id ?? 0, type: 'response', flags: dnsPacket.AUTHORITATIVE_ANSWER | ((query.flags ?? 0) & dnsPacket.RECURSION_DESIRED), questions, answers: [], additionals: [] };
    let found = false;
    let failed = false;
    for (const q of questions) {
      try {
        const r = await resolve(q);
        if (r && (r.answers.length > 0 || r.additionals.length > 0)) found = true;
        if (r) {
          response.answers?.push(...r.answers);
          response.additionals?.push(...r.additionals);
        }
      } catch (err) {
        // An unreachable datacenter is SERVFAIL, an unknown query or datacenter NXDOMAIN.
        if (isTrellisError(err, 'E_NOT_FOUND') || isTrellisError(err, 'E_UNKNOWN_DATACENTER')) continue;
        failed = true;
        log.debug({ name: q.name, err: errorMessage(err) }, 'DNS lookup failed');
      }
    }
    const rcode = failed ? 2 : found ? 0 : 3; // SERVFAIL, NOERROR, NXDOMAIN
    response.flags = (response.flags ?? 0) | rcode;
    if (!found) {
      response.authorities = [
        { type: 'SOA', name: `${domain}.`, ttl: 0, class: 'IN', data: { mname: `ns.${domain}.`, rname: `hostmaster.${domain}.`, serial: 1, refresh: 3600, retry: 600, expire: 86400, minimum: 0 } },
      ];
    }
    return response;
  }

  const socket: Socket = createSocket(isIPv6(host) ? 'udp6' : 'udp4');
  socket.on('message', (msg: Buffer, rinfo: RemoteInfo) => {
    let query: Packet;
    try {
      query = dnsPacket.decode(msg);
    } catch {
      return; // not DNS: drop, as any resolver would
    }
    void answer(query).then(
      (response) => {
        let out = dnsPacket.encode(response);
        // Classic DNS over UDP: 512 bytes unless the client said more (EDNS); truncate and set TC.
        const limit = (query.additionals ?? []).some((a) => a.type === 'OPT') ? 4096 : 512;
        if (out.length > limit) out = dnsPacket.encode({ ...response, flags: (response.flags ?? 0) | dnsPacket.TRUNCATED_RESPONSE, answers: (response.answers ?? []).slice(0, 3), additionals: [] });
        socket.send(out, rinfo.port, rinfo.address);
      },
      (err: unknown) => log.warn({ err: errorMessage(err) }, 'DNS answer failed'),
    );
  });
  await new Promise<void>((resolveBind, reject) => {
    socket.once('error', reject);
    socket.bind(port, host, () => {
      socket.off('error', reject);
      resolveBind();
    });
  });
  socket.on('error', (err) => log.warn({ err: errorMessage(err) }, 'DNS socket error'));
  return {
    port: socket.address().port,
    answer,
    close: () => new Promise<void>((done) => socket.close(() => done())),
  };
}
