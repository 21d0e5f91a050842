import { TrellisError, parseDuration } from '../common/index.js';
import { Reader } from './reader.js';
import type { QueryInput } from './store.js';
import type { PreparedQueryRow } from './types.js';

// Prepared queries as Consul defines them: validation (parseQuery), name rules of the state store,
// lookup by ID, name or template prefix, and template rendering (${name.full}, ${match(N)}, …).

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function invalid(message: string): never {
  throw new TrellisError('E_VALIDATION', message);
}

/** Reads a `POST /v1/query` or `PUT /v1/query/:id` body into a query with the given ID. */
export function parseQueryBody(body: unknown, id: string): QueryInput {
  const r = Reader.of(body, '');
  const template = r.object('Template');
  const type = template?.string('Type') ?? '';
  if (type !== '' && type !== 'name_prefix_match' && type !== 'regexp') invalid(`Bad Template.Type '${type}'`);
  const regexp = template?.string('Regexp') ?? '';
  if (type === 'regexp') {
    try {
      new RegExp(regexp);
    } catch (err) {
      invalid(`Bad Regexp: ${(err as Error).message}`);
    }
  }
  const s = Reader.of(r.raw('Service') ?? {}, 'Service');
  const service = s.string('Service');
  if (!service) invalid('Must provide a Service name to query');
  const failover = s.object('Failover');
  const nearestN = failover?.int('NearestN') ?? 0;
  if (nearestN < 0) invalid(`Bad NearestN '${nearestN}', must be >= 0`);
  if (failover?.has('Targets')) invalid('Failover.Targets (cluster peering) is not supported by trellis: use NearestN and Datacenters');
  const ttl = r.object('DNS')?.string('TTL') ?? '';
  if (ttl !== '') {
    let ms: number;
    try {
      ms = parseDuration(ttl);
    } catch {
      return invalid(`Bad DNS TTL '${ttl}': time: invalid duration "${ttl}"`);
    }
    if (ms < 0) invalid(`DNS TTL '${ttl}', must be >=0`);
  }
  return {
    ID: id,
    Name: r.string('Name'),
    Session: r.string('Session'),
    Token: r.string('Token'),
    Template: { Type: type, Regexp: regexp, RemoveEmptyTags: template?.bool('RemoveEmptyTags') ?? false },
    Service: {
      Service: service,
      Failover: { NearestN: nearestN, Datacenters: failover?.strings('Datacenters') ?? [] },
      OnlyPassing: s.bool('OnlyPassing'),
      IgnoreCheckIDs: s.strings('IgnoreCheckIDs'),
      Near: s.string('Near'),
      Tags: s.strings('Tags'),
      NodeMeta: s.stringMap('NodeMeta'),
      ServiceMeta: s.stringMap('ServiceMeta'),
      Connect: { Enabled: s.object('Connect')?.bool('Enabled') ?? false },
    },
    DNS: { TTL: ttl },
  };
}

const isTemplate = (q: { Template: { Type: string } }) => q.Template.Type !== '';

/** The state store's rules: unique names, one empty-named template, no name that is another query's ID. */
export function checkQueryNames(query: QueryInput, all: Iterable<PreparedQueryRow>): void {
  const others = [...all].filter((q) => q.ID !== query.ID);
  if (query.Name !== '') {
    if (others.some((q) => q.Name === query.Name)) invalid(`name '${query.Name}' aliases an existing query name`);
  } else if (isTemplate(query) && others.some((q) => q.Name === '' && isTemplate(q))) {
    invalid('a query template with an empty name already exists');
  }
  if (UUID.test(query.Name) && others.some((q) => q.ID === query.Name)) invalid(`name '${query.Name}' aliases an existing query ID`);
}

/**
 * Finds the query for `idOrName` as Consul does: by ID, then by exact name among non-templates,
 * then the template with the longest name that prefixes it (an empty-named template matches all).
 */
export function resolveQuery(idOrName: string, all: Iterable<PreparedQueryRow>): PreparedQueryRow | undefined {
  const list = [...all];
  const byId = list.find((q) => q.ID === idOrName);
  if (byId) return byId;
  const byName = list.find((q) => !isTemplate(q) && q.Name !== '' && q.Name === idOrName);
  if (byName) return byName;
  let best: PreparedQueryRow | undefined;
  for (const q of list) {
    if (!isTemplate(q) || !idOrName.startsWith(q.Name)) continue;
    if (!best || q.Name.length > best.Name.length) best = q;
  }
  return best;
}

/** Renders a template for the name it was invoked with (a non-template is returned unchanged). */
export function renderQuery(query: PreparedQueryRow, invokedAs: string): PreparedQueryRow {
  if (!isTemplate(query)) return query;
  const matches = query.Template.Type === 'regexp' ? (new RegExp(query.Template.Regexp).exec(invokedAs) ?? []) : [];
  const vars: Record<string, string> = {
    'name.full': invokedAs,
    'name.prefix': query.Name,
    'name.suffix': invokedAs.slice(query.Name.length),
  };
  const render = (text: string) =>
    text.replace(/\$\{([^}]+)\}/g, (whole, expr: string) => {
      const m = /^match\((\d+)\)$/.exec(expr.trim());
      if (m) return matches[Number(m[1])] ?? '';
      return vars[expr.trim()] ?? whole;
    });
  const renderMap = (map: Readonly<Record<string, string>>) => Object.fromEntries(Object.entries(map).map(([k, v]) => [k, render(v)]));
  let tags = query.Service.Tags.map(render);
  if (query.Template.RemoveEmptyTags) tags = tags.filter((t) => t !== '');
  return {
    ...query,
    Service: {
      ...query.Service,
      Service: render(query.Service.Service),
      Tags: tags,
      Near: render(query.Service.Near),
      NodeMeta: renderMap(query.Service.NodeMeta),
      ServiceMeta: renderMap(query.Service.ServiceMeta),
      Failover: { ...query.Service.Failover, Datacenters: query.Service.Failover.Datacenters.map(render) },
    },
  };
}

/** Consul's JSON for a stored query (the token is redacted as Consul does for reads). */
export function toConsulQuery(q: PreparedQueryRow): Record<string, unknown> {
  return {
    ID: q.ID,
    Name: q.Name,
    Session: q.Session,
    Token: q.Token ? '<hidden>' : '',
    Template: q.Template,
    Service: q.Service,
    DNS: q.DNS,
    CreateIndex: q.CreateIndex,
    ModifyIndex: q.ModifyIndex,
  };
}

/**
 * The datacenters a failover tries, in order: the NearestN nearest by measured round-trip time
 * (the local one excluded), then the Datacenters list; each at most once, unknown ones skipped.
 */
export function failoverOrder(failover: { NearestN: number; Datacenters: readonly string[] }, local: string, byRtt: readonly string[], known: ReadonlySet<string>): string[] {
  const order: string[] = [];
  for (const dc of byRtt) {
    if (order.length >= failover.NearestN) break;
    if (dc !== local) order.push(dc);
  }
  for (const dc of failover.Datacenters) if (dc !== local && known.has(dc) && !order.includes(dc)) order.push(dc);
  return order;
}
