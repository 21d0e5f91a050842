import { TrellisError } from '../common/index.js';

/** Consul's access levels; `list` exists for keys only. */
export type AccessLevel = 'deny' | 'read' | 'write' | 'list';

/** A service rule: the service itself and the intentions whose destination (or source) it is. */
export interface ServiceRule {
  readonly policy: AccessLevel;
  readonly intentions: AccessLevel;
}

/** Exact-name rules and prefix rules of one resource. */
export interface NamedRules<R> {
  readonly exact: Map<string, R>;
  readonly prefix: Map<string, R>;
}

/** A parsed policy (or the merge of a token's policies). */
export interface Rules {
  readonly service: NamedRules<ServiceRule>;
  readonly node: NamedRules<AccessLevel>;
  readonly query: NamedRules<AccessLevel>;
  readonly agent: NamedRules<AccessLevel>;
  /** Accepted for Consul compatibility; trellis has no KV, sessions or user events to guard. */
  readonly key: NamedRules<AccessLevel>;
  readonly session: NamedRules<AccessLevel>;
  readonly event: NamedRules<AccessLevel>;
  operator: AccessLevel | undefined;
  acl: AccessLevel | undefined;
  keyring: AccessLevel | undefined;
  mesh: AccessLevel | undefined;
  peering: AccessLevel | undefined;
}

const NAMED = ['service', 'node', 'query', 'agent', 'key', 'session', 'event'] as const;
type NamedResource = (typeof NAMED)[number];
const SINGLE = ['operator', 'acl', 'keyring', 'mesh', 'peering'] as const;
type SingleResource = (typeof SINGLE)[number];

export function emptyRules(): Rules {
  const named = <R>(): NamedRules<R> => ({ exact: new Map(), prefix: new Map() });
  return {
    service: named(),
    node: named(),
    query: named(),
    agent: named(),
    key: named(),
    session: named(),
    event: named(),
    operator: undefined,
    acl: undefined,
    keyring: undefined,
    mesh: undefined,
    peering: undefined,
  };
}

const fail = (message: string): never => {
  throw new TrellisError('E_VALIDATION', `Failed to parse ACL rules: ${message}`);
};

/** Consul's rule for an intentions level left unset: read when the service is readable, else deny. */
function serviceRule(policy: AccessLevel, intentions: AccessLevel | undefined): ServiceRule {
  return { policy, intentions: intentions ?? (policy === 'read' || policy === 'write' ? 'read' : 'deny') };
}

function level(value: unknown, what: string, allowList = false): AccessLevel {
  if (value === 'read' || value === 'write' || value === 'deny' || (allowList && value === 'list')) return value;
  return fail(`Invalid ${what} policy: ${JSON.stringify(value)}`);
}

// ---------------------------------------------------------------------------------------------
// HCL: the subset Consul's rule language uses. Top-level `operator = "read"`, and labelled blocks
// `service "web" { policy = "write" intentions = "read" }`. Comments (#, //, /* */) and commas
// between attributes are accepted as HCL accepts them.

type Token = { kind: 'ident' | 'string' | 'punct'; value: string; at: number };

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === ',') {
      i++;
    } else if (c === '#' || (c === '/' && text[i + 1] === '/')) {
      while (i < text.length && text[i] !== '\n') i++;
    } else if (c === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2);
      if (end < 0) fail(`unterminated comment at offset ${i}`);
      i = end + 2;
    } else if (c === '{' || c === '}' || c === '=' || c === ':') {
      tokens.push({ kind: 'punct', value: c, at: i });
      i++;
    } else if (c === '"') {
      let value = '';
      let j = i + 1;
      for (;;) {
        if (j >= text.length) fail(`unterminated string at offset ${i}`);
        const d = text[j]!;
        if (d === '"') break;
        if (d === '\n') fail(`unterminated string at offset ${i}`);
        if (d === '\\') {
          const e = text[j + 1];
          if (e === '"' || e === '\\') value += e;
          else if (e === 'n') value += '\n';
          else if (e === 't') value += '\t';
          else fail(`unknown escape \\${e ?? ''} at offset ${j}`);
          j += 2;
          continue;
        }
        value += d;
        j++;
      }
      tokens.push({ kind: 'string', value, at: i });
      i = j + 1;
    } else if (/[A-Za-z_]/.test(c)) {
      let j = i;
      while (j < text.length && /[A-Za-z0-9_-]/.test(text[j]!)) j++;
      tokens.push({ kind: 'ident', value: text.slice(i, j), at: i });
      i = j;
    } else {
      fail(`unexpected ${JSON.stringify(c)} at offset ${i}`);
    }
  }
  return tokens;
}

function parseHcl(text: string): Record<string, unknown> {
  const tokens = tokenize(text);
  let pos = 0;
  const peek = () => tokens[pos];
  const next = (): Token => tokens[pos++] ?? fail('unexpected end of rules');
  const expect = (value: string) => {
    const t = next();
    if (t.kind !== 'punct' || t.value !== value) fail(`expected "${value}" at offset ${t.at}, found ${JSON.stringify(t.value)}`);
  };
  const out: Record<string, unknown> = {};
  while (pos < tokens.length) {
    const key = next();
    if (key.kind !== 'ident') fail(`expected a rule at offset ${key.at}, found ${JSON.stringify(key.value)}`);
    const t = peek();
    if (t?.kind === 'punct' && (t.value === '=' || t.value === ':')) {
      next();
      const value = next();
      if (value.kind !== 'string') fail(`expected a string after ${key.value} = at offset ${value.at}`);
      out[key.value] = value.value;
      continue;
    }
    const label = next();
    if (label.kind !== 'string') fail(`expected a quoted name after ${key.value} at offset ${label.at}`);
    expect('{');
    const body: Record<string, string> = {};
    for (;;) {
      const a = next();
      if (a.kind === 'punct' && a.value === '}') break;
      if (a.kind !== 'ident') fail(`expected an attribute in ${key.value} "${label.value}" at offset ${a.at}`);
      const eq = next();
      if (eq.kind !== 'punct' || (eq.value !== '=' && eq.value !== ':')) fail(`expected "=" after ${a.value} at offset ${eq.at}`);
      const v = next();
      if (v.kind !== 'string') fail(`expected a string for ${a.value} at offset ${v.at}`);
      body[a.value] = v.value;
    }
    const group = (out[key.value] ??= {}) as Record<string, unknown>;
    if (typeof group !== 'object') fail(`${key.value} is given both as a value and as blocks`);
    group[label.value] = body;
  }
  return out;
}

/**
 * Parses a policy's rules, HCL or JSON as Consul accepts them, into exact and prefix rules per
 * resource. Anything it does not understand is an error naming it (Consul's "Failed to parse ACL
 * rules" prefix); nothing is silently ignored.
 */
export function parseRules(text: string): Rules {
  if (text.length > 64 * 1024) fail('rules are larger than 64 KiB');
  const trimmed = text.trim();
  let source: Record<string, unknown>;
  if (trimmed.startsWith('{')) {
    try {
      source = JSON.parse(trimmed) as Record<string, unknown>;
    } catch (err) {
      return fail((err as Error).message);
    }
    if (typeof source !== 'object' || source === null || Array.isArray(source)) fail('expected an object');
  } else {
    source = parseHcl(trimmed);
  }
  const rules = emptyRules();
  for (const [key, value] of Object.entries(source)) {
    if ((SINGLE as readonly string[]).includes(key)) {
      rules[key as SingleResource] = level(value, key);
      continue;
    }
    const resource = key.endsWith('_prefix') ? key.slice(0, -'_prefix'.length) : key;
    if (!(NAMED as readonly string[]).includes(resource)) fail(`unknown rule "${key}"`);
    if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(`${key} must be blocks with a name, such as ${key} "web" { policy = "read" }`);
    const target = key.endsWith('_prefix') ? rules[resource as NamedResource].prefix : rules[resource as NamedResource].exact;
    for (const [name, raw] of Object.entries(value as Record<string, unknown>)) {
      if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) fail(`${key} "${name}" must be a block`);
      const body = raw as Record<string, unknown>;
      const allowed = resource === 'service' ? ['policy', 'intentions'] : ['policy'];
      for (const attr of Object.keys(body)) if (!allowed.includes(attr)) fail(`unknown attribute "${attr}" in ${key} "${name}"`);
      if (body.policy === undefined && !(resource === 'service' && body.intentions !== undefined)) fail(`${key} "${name}" has no policy`);
      if (resource === 'service') {
        const policy = body.policy === undefined ? 'deny' : level(body.policy, 'service');
        (target as Map<string, ServiceRule>).set(name, serviceRule(policy, body.intentions === undefined ? undefined : level(body.intentions, 'intentions')));
      } else {
        (target as Map<string, AccessLevel>).set(name, level(body.policy, resource, resource === 'key'));
      }
    }
  }
  return rules;
}

const RANK: Readonly<Record<AccessLevel, number>> = { list: 1, read: 2, write: 3, deny: 4 };

/** Consul's merge of two grants for the same thing: deny wins, then write over read over list. */
export function strongest(a: AccessLevel | undefined, b: AccessLevel | undefined): AccessLevel | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return RANK[a] >= RANK[b] ? a : b;
}

function mergeNamed<R>(into: NamedRules<R>, from: NamedRules<R>, merge: (a: R, b: R) => R): void {
  for (const kind of ['exact', 'prefix'] as const) {
    for (const [name, rule] of from[kind]) {
      const before = into[kind].get(name);
      into[kind].set(name, before === undefined ? rule : merge(before, rule));
    }
  }
}

/** One token's policies as one rule set. */
export function mergeRules(all: readonly Rules[]): Rules {
  const out = emptyRules();
  const lv = (a: AccessLevel, b: AccessLevel) => strongest(a, b) ?? a;
  for (const r of all) {
    mergeNamed(out.service, r.service, (a, b) => ({ policy: lv(a.policy, b.policy), intentions: lv(a.intentions, b.intentions) }));
    for (const n of NAMED) if (n !== 'service') mergeNamed(out[n], r[n], lv);
    for (const s of SINGLE) out[s] = strongest(out[s], r[s]);
  }
  return out;
}
