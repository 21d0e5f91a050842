import type { AclSettings } from '../acl/resolver.js';
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { TrellisError, errorMessage } from '../common/index.js';
import { parseCaConfigurationBody } from '../ca/index.js';
import { DEFAULT_CA_CONFIG, type CAConfigRecord } from '../events/index.js';

const dcName = z
  .string()
  .regex(/^[a-z0-9]([a-z0-9_-]{0,62})$/, 'must be lowercase letters, digits, "-" or "_" (at most 63), starting with a letter or digit');

/** The agent's JSON configuration file, in Consul's spelling plus trellis's own `nats` block. */
export const agentFileSchema = z.strictObject({
  datacenter: dcName.optional(),
  node_name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/, 'must be letters, digits, ".", "_" or "-"').optional(),
  advertise_addr: z.string().min(1).optional(),
  primary_datacenter: dcName.optional(),
  data_dir: z.string().min(1).optional(),
  addresses: z.strictObject({ http: z.string().min(1).optional(), https: z.string().min(1).optional() }).optional(),
  ports: z
    .strictObject({
      http: z.number().int().min(0).max(65535).optional(),
      /** Consul's HTTPS port (-1, the default, disables it); needs cert_file and key_file. */
      https: z.number().int().min(-1).max(65535).optional(),
      /** Consul's DNS port; -1 disables it. */
      dns: z.number().int().min(-1).max(65535).optional(),
      sidecar_min_port: z.number().int().min(1).max(65535).optional(),
      sidecar_max_port: z.number().int().min(1).max(65535).optional(),
    })
    .optional(),
  /** Consul's TLS settings, both spellings: the top-level keys (before 1.12) and `tls.defaults` / `tls.https`. */
  ca_file: z.string().min(1).optional(),
  cert_file: z.string().min(1).optional(),
  key_file: z.string().min(1).optional(),
  verify_incoming: z.boolean().optional(),
  verify_incoming_https: z.boolean().optional(),
  tls: z
    .strictObject({
      defaults: z
        .strictObject({ ca_file: z.string().min(1).optional(), cert_file: z.string().min(1).optional(), key_file: z.string().min(1).optional(), verify_incoming: z.boolean().optional() })
        .optional(),
      https: z
        .strictObject({ ca_file: z.string().min(1).optional(), cert_file: z.string().min(1).optional(), key_file: z.string().min(1).optional(), verify_incoming: z.boolean().optional() })
        .optional(),
    })
    .optional(),
  /** Consul's `limits`: per-client HTTP request rate (trellis's own keys, Consul has no per-client HTTP limit). */
  limits: z
    .strictObject({
      http_max_conns_per_client: z.number().int().min(1).optional(),
      /** Requests per second per client address (token bucket; burst = 2 s worth). 0 disables. @default 1000 */
      http_requests_per_client: z.number().min(0).optional(),
      /** Milliseconds a client may take to send its request headers and body. @default 10000 */
      http_request_timeout_ms: z.number().int().min(100).optional(),
    })
    .optional(),
  /** Consul's DNS domain. */
  domain: z.string().regex(/^[a-z0-9][a-z0-9-]*$/i, 'a single DNS label such as "consul"').optional(),
  /** trellis's own: this datacenter's nats-server and the agent's credentials for it (a 0600 JSON file: user, password, inbox_prefix, ca_file). */
  nats: z.strictObject({ url: z.string().min(1).optional(), credentials_file: z.string().min(1).optional() }).optional(),
  default_intention_policy: z.enum(['allow', 'deny']).optional(),
  ca_key_passphrase_file: z.string().min(1).optional(),
  /** Consul's `connect` block: the CA configuration the primary starts its CA with. */
  connect: z
    .strictObject({
      enabled: z.literal(true, { message: 'trellis always runs Connect: "enabled" may only be true' }).optional(),
      ca_provider: z.literal('consul', { message: 'only the built-in "consul" CA provider is supported' }).optional(),
      ca_config: z.record(z.string(), z.unknown()).optional(),
    })
    .optional(),
  /** Consul's `acl` block (the subset trellis enforces). */
  acl: z
    .strictObject({
      enabled: z.boolean().optional(),
      default_policy: z.enum(['allow', 'deny']).optional(),
      /** Accepted for Consul compatibility: trellis always enforces from its replicated view (never asks the primary). */
      down_policy: z.enum(['allow', 'deny', 'extend-cache', 'async-cache']).optional(),
      enable_token_persistence: z.boolean().optional(),
      tokens: z
        .strictObject({
          initial_management: z.string().regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i, 'a UUID').optional(),
          default: z.string().min(1).optional(),
          agent: z.string().min(1).optional(),
        })
        .optional(),
    })
    .optional(),
  /** trellis's own: view snapshots (the primary publishes them; a new secondary starts from the newest). */
  snapshots: z
    .strictObject({
      /** Primary: a snapshot each time the view moved this many events past the last one; 0 disables. @default 10000 */
      interval_events: z.number().int().min(0).optional(),
      /** Primary: snapshots kept in the object store. @default 2 */
      retain: z.number().int().min(1).max(100).optional(),
      /** Secondary: an empty view starts from the primary's newest snapshot. @default true */
      bootstrap: z.boolean().optional(),
      /** Secondary: a new mirror copies the log from sequence 1 even when the view starts from a snapshot (slower; full local audit history). @default false */
      full_history: z.boolean().optional(),
    })
    .optional(),
  log_level: z
    .string()
    .transform((s) => s.toLowerCase())
    .pipe(z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']))
    .optional(),
});

export type AgentFileConfig = z.infer<typeof agentFileSchema>;

/** The HTTPS listener: Consul's cert_file/key_file, and with verify_incoming, client certificates that chain to ca_file. */
export interface HttpsSettings {
  readonly address: string;
  readonly port: number;
  readonly certFile: string;
  readonly keyFile: string;
  readonly caFile: string | undefined;
  readonly verifyIncoming: boolean;
}

function httpsOf(c: AgentFileConfig): HttpsSettings | undefined {
  const port = c.ports?.https ?? -1;
  if (port === -1) return undefined;
  const pick = <K extends 'ca_file' | 'cert_file' | 'key_file' | 'verify_incoming'>(k: K) => c.tls?.https?.[k] ?? c.tls?.defaults?.[k] ?? c[k];
  const certFile = pick('cert_file');
  const keyFile = pick('key_file');
  if (!certFile || !keyFile) throw new TrellisError('E_CONFIG', 'ports.https needs cert_file and key_file (or tls.defaults / tls.https)');
  const verifyIncoming = c.verify_incoming_https ?? pick('verify_incoming') ?? false;
  const caFile = pick('ca_file');
  if (verifyIncoming && !caFile) throw new TrellisError('E_CONFIG', 'VerifyIncoming set, and no CA certificate provided!');
  return { address: c.addresses?.https ?? c.addresses?.http ?? '127.0.0.1', port, certFile, keyFile, caFile, verifyIncoming };
}

/** The validated, frozen configuration of one agent. */
export interface AgentConfig {
  readonly datacenter: string;
  /** This agent's node in the catalog. @default `<hostname>-<datacenter>` */
  readonly nodeName: string | undefined;
  /** The address other nodes reach this one at (the node's catalog Address). @default 127.0.0.1 */
  readonly advertiseAddress: string;
  /** @default the agent's own datacenter */
  readonly primaryDatacenter: string;
  readonly dataDir: string;
  /** @default '127.0.0.1' */
  readonly httpAddress: string;
  /** @default 8500 */
  readonly httpPort: number;
  /** Consul's DNS interface (UDP, on httpAddress); undefined when disabled (ports.dns -1). @default 8600 */
  readonly dnsPort: number | undefined;
  /** @default 'consul' */
  readonly domain: string;
  /** Ports given to sidecars registered without one (Consul's sidecar_min_port/sidecar_max_port). @default 21000-21255 */
  readonly sidecarPorts: { readonly min: number; readonly max: number };
  /** @default 'nats://127.0.0.1:4222' */
  readonly natsUrl: string;
  /** The agent's NATS credentials file; absent: connect without credentials (a server with no users). */
  readonly natsCredentialsFile: string | undefined;
  /** What authorize and check answer when no intention matches. @default 'deny' */
  readonly defaultIntentionPolicy: 'allow' | 'deny';
  /** @default 'info' */
  readonly logLevel: string;
  /** Encrypts CA keys at rest; absent: a random passphrase is generated in data_dir/ca (0600). */
  readonly caKeyPassphraseFile: string | undefined;
  /**
   * `connect.ca_config`: the CA configuration the primary creates its first root with (later changes
   * go through `PUT /v1/connect/ca/configuration`, as in Consul). @default Consul's defaults
   */
  readonly caConfig: CAConfigRecord;
  /** HTTPS (Consul's ports.https): undefined when disabled. */
  readonly https: HttpsSettings | undefined;
  /** Per-client HTTP limits. */
  readonly httpLimits: { readonly requestsPerSecond: number; readonly maxConnsPerClient: number; readonly requestTimeoutMs: number };
  /** ACLs: off unless `acl.enabled`; Consul's default policy is allow. */
  readonly acl: AclSettings;
  readonly snapshots: SnapshotSettings;
}

export interface SnapshotSettings {
  readonly intervalEvents: number;
  readonly retain: number;
  readonly bootstrap: boolean;
  readonly fullHistory: boolean;
}

function sidecarPorts(min = 21000, max = Math.max(min + 255, 21255)): { min: number; max: number } {
  if (max < min) throw new TrellisError('E_CONFIG', `ports.sidecar_max_port (${max}) must not be below ports.sidecar_min_port (${min})`);
  return { min, max };
}

/** `connect.ca_config` (snake_case or Consul's CamelCase keys), validated as the HTTP API validates a PUT. */
function caConfigOf(raw: Record<string, unknown> | undefined): CAConfigRecord {
  if (!raw) return DEFAULT_CA_CONFIG;
  try {
    return parseCaConfigurationBody({ Provider: 'consul', Config: raw }).config;
  } catch (err) {
    throw new TrellisError('E_CONFIG', `connect.ca_config: ${errorMessage(err)}`, { cause: err });
  }
}

function describe(error: z.ZodError, source: string): string {
  return error.issues
    .map((issue) => {
      const path = issue.path.join('.');
      if (issue.code === 'unrecognized_keys') return `${source}: unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${path ? `${path}.` : ''}${k}"`).join(', ')}`;
      return `${source}: ${path || '(root)'}: ${issue.message}`;
    })
    .join('\n');
}

/** Parses a configuration file's text; errors name the file and the key. */
export function parseAgentFile(text: string, source: string): AgentFileConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new TrellisError('E_CONFIG', `${source}: not valid JSON: ${(err as Error).message}`, { cause: err });
  }
  const parsed = agentFileSchema.safeParse(raw);
  if (!parsed.success) throw new TrellisError('E_CONFIG', describe(parsed.error, source));
  return parsed.data;
}

export function readAgentFile(path: string): AgentFileConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new TrellisError('E_CONFIG', `cannot read config file ${path}: ${(err as Error).message}`, { cause: err });
  }
  return parseAgentFile(text, path);
}

/** Merges configuration files (later wins) and then flags (win over files), validates, freezes. */
export function resolveAgentConfig(files: readonly AgentFileConfig[], flags: AgentFileConfig): AgentConfig {
  const flagCheck = agentFileSchema.safeParse(flags);
  if (!flagCheck.success) throw new TrellisError('E_CONFIG', describe(flagCheck.error, 'flags'));
  const merged: AgentFileConfig = {};
  for (const layer of [...files, flagCheck.data]) {
    Object.assign(merged, Object.fromEntries(Object.entries(layer).filter(([, v]) => v !== undefined && typeof v !== 'object')));
    for (const block of ['addresses', 'ports', 'nats', 'connect', 'acl', 'tls', 'limits', 'snapshots'] as const) {
      const value = layer[block];
      if (value) Object.assign((merged[block] ??= {}), Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)));
    }
  }
  if (!merged.datacenter) throw new TrellisError('E_CONFIG', 'datacenter is required: set "datacenter" in the config file or pass -datacenter');
  if (!merged.data_dir) throw new TrellisError('E_CONFIG', 'data_dir is required: set "data_dir" in the config file or pass -data-dir');
  return Object.freeze({
    datacenter: merged.datacenter,
    nodeName: merged.node_name,
    advertiseAddress: merged.advertise_addr ?? '127.0.0.1',
    primaryDatacenter: merged.primary_datacenter ?? merged.datacenter,
    dataDir: merged.data_dir,
    httpAddress: merged.addresses?.http ?? '127.0.0.1',
    httpPort: merged.ports?.http ?? 8500,
    dnsPort: merged.ports?.dns === -1 ? undefined : (merged.ports?.dns ?? 8600),
    domain: merged.domain ?? 'consul',
    sidecarPorts: sidecarPorts(merged.ports?.sidecar_min_port, merged.ports?.sidecar_max_port),
    natsUrl: merged.nats?.url ?? 'nats://127.0.0.1:4222',
    natsCredentialsFile: merged.nats?.credentials_file,
    defaultIntentionPolicy: merged.default_intention_policy ?? 'deny',
    logLevel: merged.log_level ?? 'info',
    caKeyPassphraseFile: merged.ca_key_passphrase_file,
    caConfig: caConfigOf(merged.connect?.ca_config),
    https: httpsOf(merged),
    httpLimits: {
      requestsPerSecond: merged.limits?.http_requests_per_client ?? 1000,
      maxConnsPerClient: merged.limits?.http_max_conns_per_client ?? 200,
      requestTimeoutMs: merged.limits?.http_request_timeout_ms ?? 10_000,
    },
    acl: {
      enabled: merged.acl?.enabled ?? false,
      defaultPolicy: merged.acl?.default_policy ?? 'allow',
      initialManagement: merged.acl?.tokens?.initial_management,
      defaultToken: merged.acl?.tokens?.default,
    },
    snapshots: {
      intervalEvents: merged.snapshots?.interval_events ?? 10_000,
      retain: merged.snapshots?.retain ?? 2,
      bootstrap: merged.snapshots?.bootstrap ?? true,
      fullHistory: merged.snapshots?.full_history ?? false,
    },
  });
}
