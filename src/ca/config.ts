import { TrellisError, formatDuration, parseDuration } from '../common/index.js';
import { DEFAULT_CA_CONFIG, type CAConfigRecord, type CAStateRow } from '../events/index.js';

// The CA configuration as Consul's `/v1/connect/ca/configuration` carries it for the built-in
// ("consul") provider: validation with Consul's rules and messages (CommonCAProviderConfig.Validate).

const HOUR = 3_600_000;
const MIN_LEAF_TTL_MS = HOUR;
const MAX_LEAF_TTL_MS = 365 * 24 * HOUR;
/** Consul checks intermediates hourly; three checks must fit in an intermediate's life. */
const INTERMEDIATE_RENEW_INTERVAL_MS = HOUR;

/** The configuration's durations in milliseconds. */
export interface CaTtls {
  readonly leafMs: number;
  readonly intermediateMs: number;
  readonly rootMs: number;
}

export function caTtls(config: CAConfigRecord): CaTtls {
  return { leafMs: parseDuration(config.LeafCertTTL), intermediateMs: parseDuration(config.IntermediateCertTTL), rootMs: parseDuration(config.RootCertTTL) };
}

function invalid(message: string): never {
  throw new TrellisError('E_VALIDATION', message);
}

/** Consul's CommonCAProviderConfig.Validate, in its order and with its messages. */
export function validateCaConfig(config: CAConfigRecord): CAConfigRecord {
  const { leafMs, intermediateMs, rootMs } = caTtls(config);
  if (rootMs < intermediateMs) {
    invalid(`root cert TTL is set and is not greater than intermediate cert ttl. root cert ttl: ${formatDuration(rootMs)}, intermediate cert ttl: ${formatDuration(intermediateMs)}`);
  }
  if (leafMs < MIN_LEAF_TTL_MS) invalid(`leaf cert TTL must be greater or equal than ${formatDuration(MIN_LEAF_TTL_MS)}`);
  if (leafMs > MAX_LEAF_TTL_MS) invalid(`leaf cert TTL must be less than ${formatDuration(MAX_LEAF_TTL_MS)}`);
  if (intermediateMs < 3 * INTERMEDIATE_RENEW_INTERVAL_MS) invalid(`Intermediate Cert TTL must be greater or equal than ${3 * (INTERMEDIATE_RENEW_INTERVAL_MS / HOUR)}h`);
  if (intermediateMs < 3 * leafMs) invalid(`Intermediate Cert TTL must be greater or equal than 3 * LeafCertTTL (>=${formatDuration(3 * leafMs)}).`);
  switch (config.PrivateKeyType) {
    case 'ec':
      if (![224, 256, 384, 521].includes(config.PrivateKeyBits)) invalid('EC key length must be one of (224, 256, 384, 521) bits');
      break;
    case 'rsa':
      if (config.PrivateKeyBits !== 2048 && config.PrivateKeyBits !== 4096) invalid('RSA key length must be 2048 or 4096 bits');
      break;
    default:
      invalid("private key type must be either 'ec' or 'rsa'");
  }
  if (!Number.isFinite(config.CSRMaxPerSecond) || config.CSRMaxPerSecond < 0) invalid('CSRMaxPerSecond must be a number of at least 0');
  return config;
}

/** A PUT body: the new configuration and whether to skip cross-signing on rotation. */
export interface CaConfigurationRequest {
  readonly config: CAConfigRecord;
  readonly forceWithoutCrossSigning: boolean;
}

type Field = keyof CAConfigRecord;
/** Config keys as Consul's decoder matches them: case-insensitively, snake_case too. */
const FIELDS: Readonly<Record<string, Field>> = {
  leafcertttl: 'LeafCertTTL',
  intermediatecertttl: 'IntermediateCertTTL',
  rootcertttl: 'RootCertTTL',
  privatekeytype: 'PrivateKeyType',
  privatekeybits: 'PrivateKeyBits',
  csrmaxpersecond: 'CSRMaxPerSecond',
};
/** Keys Consul accepts and trellis accepts too but does not use (RotationPeriod is deprecated in Consul as well). */
const IGNORED = new Set(['rotationperiod', 'csrmaxconcurrent', 'clusterid']);
const TOP_LEVEL = new Set(['Provider', 'Config', 'State', 'ForceWithoutCrossSigning', 'CreateIndex', 'ModifyIndex']);

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function durationField(key: string, value: unknown): string {
  if (typeof value !== 'string') invalid(`Request decode failed: Config.${key} must be a duration string such as "72h"`);
  try {
    parseDuration(value);
  } catch {
    invalid(`Request decode failed: Config.${key}: time: invalid duration "${value}"`);
  }
  return value;
}

function numberField(key: string, value: unknown): number {
  // Consul decodes weakly: "2048" is as good as 2048.
  const n = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isFinite(n)) invalid(`Request decode failed: Config.${key} must be a number`);
  return n;
}

/**
 * Reads a `PUT /v1/connect/ca/configuration` body. As in Consul, `Config` replaces the whole
 * configuration: a field left out takes its default. The provider must be the built-in one, and
 * the provider state is read-only.
 */
export function parseCaConfigurationBody(body: unknown): CaConfigurationRequest {
  if (!isObject(body)) invalid('Request decode failed: the body must be a JSON object');
  for (const key of Object.keys(body)) if (!TOP_LEVEL.has(key)) invalid(`Request decode failed: unknown field "${key}"`);
  const provider = body.Provider;
  if (provider !== 'consul') {
    invalid(`could not initialize provider: unknown CA provider ${JSON.stringify(provider ?? '')}: trellis has the built-in "consul" provider only`);
  }
  const state = body.State;
  if (state !== undefined && state !== null && !(isObject(state) && Object.keys(state).length === 0)) {
    invalid('Provider State is read-only. It must be omitted or identical to the current value');
  }
  const force = body.ForceWithoutCrossSigning ?? false;
  if (typeof force !== 'boolean') invalid('Request decode failed: ForceWithoutCrossSigning must be true or false');
  const raw = body.Config ?? {};
  if (!isObject(raw)) invalid('Request decode failed: Config must be an object');
  const config: Record<Field, unknown> = { ...DEFAULT_CA_CONFIG };
  for (const [key, value] of Object.entries(raw)) {
    const folded = key.replace(/_/g, '').toLowerCase();
    const field = FIELDS[folded];
    if (field) {
      config[field] = field.endsWith('TTL') ? durationField(field, value) : field === 'PrivateKeyType' ? value : numberField(field, value);
      continue;
    }
    if (IGNORED.has(folded)) continue;
    if (folded === 'privatekey' || folded === 'rootcert') {
      if (value === '' || value === null) continue;
      invalid(`Config.${key}: trellis's built-in CA generates its own root keys; bringing your own root (PrivateKey/RootCert) is not supported`);
    }
    invalid(`unknown CA configuration field "${key}" (known: LeafCertTTL, IntermediateCertTTL, RootCertTTL, PrivateKeyType, PrivateKeyBits, CSRMaxPerSecond)`);
  }
  return { config: validateCaConfig(config as unknown as CAConfigRecord), forceWithoutCrossSigning: force };
}

/** Whether moving from one configuration to another needs a new root (a new key type or size). */
export function needsRotation(before: CAConfigRecord, after: CAConfigRecord): boolean {
  return before.PrivateKeyType !== after.PrivateKeyType || before.PrivateKeyBits !== after.PrivateKeyBits;
}

export function sameConfig(a: CAConfigRecord, b: CAConfigRecord): boolean {
  return (Object.keys(DEFAULT_CA_CONFIG) as Field[]).every((k) => a[k] === b[k]);
}

/** `GET /v1/connect/ca/configuration` as Consul answers it. */
export function toConsulCaConfiguration(state: CAStateRow | undefined): Record<string, unknown> {
  const c = state?.Config ?? DEFAULT_CA_CONFIG;
  return {
    Provider: 'consul',
    Config: {
      LeafCertTTL: c.LeafCertTTL,
      IntermediateCertTTL: c.IntermediateCertTTL,
      RootCertTTL: c.RootCertTTL,
      PrivateKeyType: c.PrivateKeyType,
      PrivateKeyBits: c.PrivateKeyBits,
      ...(c.CSRMaxPerSecond > 0 ? { CSRMaxPerSecond: c.CSRMaxPerSecond } : {}),
    },
    State: null,
    ForceWithoutCrossSigning: false,
    CreateIndex: state?.CreateIndex ?? 0,
    ModifyIndex: state?.ModifyIndex ?? 0,
  };
}
