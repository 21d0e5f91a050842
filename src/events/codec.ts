import { Decoder, Encoder } from '@msgpack/msgpack';
import { TrellisError } from '../common/index.js';
import { SCHEMA_VERSION, type IntentionRecord, type TrellisEvent } from './types.js';

const encoder = new Encoder({ sortKeys: true, ignoreUndefined: true });
const decoder = new Decoder();

/** Encodes an event envelope as msgpack with sorted keys, so equal events have equal bytes. */
export function encodeEvent(event: TrellisEvent): Uint8Array {
  return encoder.encode(event);
}

// The decoder runs once per event on the projector's hot path (100k+/s): a schema library costs
// more than the msgpack decode itself, so the shape is checked here, field by field, precisely.

type Obj = Record<string, unknown>;

class Invalid extends Error {}

function fail(path: string, message: string): never {
  throw new Invalid(`${path}: ${message}`);
}

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
}

function onlyKeys(o: Obj, allowed: ReadonlySet<string>, path: string): void {
  for (const key in o) if (!allowed.has(key)) fail(path ? `${path}.${key}` : key, 'unexpected field');
}

function str(o: Obj, key: string, path: string, nonEmpty = false): string {
  const v = o[key];
  if (typeof v !== 'string') fail(`${path}${key}`, 'expected a string');
  if (nonEmpty && v.length === 0) fail(`${path}${key}`, 'must not be empty');
  return v;
}

function num(o: Obj, key: string, path: string, integer = false): number {
  const v = o[key];
  if (typeof v !== 'number' || !Number.isFinite(v)) fail(`${path}${key}`, 'expected a number');
  if (integer && !Number.isInteger(v)) fail(`${path}${key}`, 'expected an integer');
  return v;
}

const ENVELOPE_KEYS = new Set(['v', 'type', 'at', 'by', 'rid', 'prev', 'origin', 'data']);
const ORIGIN_KEYS = new Set(['dc', 'addr', 'req']);
const RECORD_KEYS = new Set(['ID', 'SourceNS', 'SourceName', 'DestinationNS', 'DestinationName', 'SourceType', 'Action', 'Description', 'Meta', 'Precedence', 'CreatedAt', 'UpdatedAt']);
const INTENTION_DATA_KEYS = new Set(['intention']);
const ID_DATA_KEYS = new Set(['id']);
const PRIMARY_DATA_KEYS = new Set(['primary']);
const CA_ROOT_CREATED_KEYS = new Set(['trustDomain', 'root', 'config']);
const INTERMEDIATE_KEYS = new Set(['datacenter', 'certificate', 'serial', 'rootId', 'notAfter']);
const CONFIG_SET_KEYS = new Set(['config']);
const ROTATED_KEYS = new Set(['root', 'previousRootId', 'config']);
const PRUNED_KEYS = new Set(['rootIds']);
const CONFIG_KEYS = new Set(['LeafCertTTL', 'IntermediateCertTTL', 'RootCertTTL', 'PrivateKeyType', 'PrivateKeyBits', 'CSRMaxPerSecond']);
const CSR_REFUSED_KEYS = new Set(['datacenter', 'reason', 'csr', 'count']);
const SNAPSHOT_KEYS = new Set(['seq', 'digest', 'chainHash', 'rows', 'bytes']);
const POLICY_DATA_KEYS = new Set(['policy']);
const POLICY_KEYS = new Set(['ID', 'Name', 'Description', 'Rules', 'Datacenters']);
const TOKEN_DATA_KEYS = new Set(['token']);
const TOKEN_KEYS = new Set(['AccessorID', 'SecretHash', 'Description', 'Policies', 'Local', 'Datacenter', 'CreateTime', 'ExpirationTime']);
const ACCESSOR_DATA_KEYS = new Set(['accessorId']);
const ROOT_KEYS = new Set(['ID', 'Name', 'SerialNumber', 'SigningKeyID', 'NotBefore', 'NotAfter', 'RootCert', 'IntermediateCerts', 'PrivateKeyType', 'PrivateKeyBits']);

function checkRoot(v: unknown): void {
  const p = 'data.root.';
  if (!isObj(v)) fail('data.root', 'expected an object');
  onlyKeys(v, ROOT_KEYS, 'data.root');
  for (const k of ['ID', 'Name', 'SigningKeyID', 'RootCert']) str(v, k, p, true);
  num(v, 'SerialNumber', p, true);
  num(v, 'NotBefore', p);
  num(v, 'NotAfter', p);
  if (!Array.isArray(v.IntermediateCerts) || !v.IntermediateCerts.every((c) => typeof c === 'string')) fail(`${p}IntermediateCerts`, 'expected an array of strings');
  if (v.PrivateKeyType !== 'ec' && v.PrivateKeyType !== 'rsa') fail(`${p}PrivateKeyType`, 'expected "ec" or "rsa"');
  num(v, 'PrivateKeyBits', p, true);
  // The log carries public material only: a private key here is refused outright.
  if (/PRIVATE KEY/.test(String(v.RootCert)) || v.IntermediateCerts.some((c) => /PRIVATE KEY/.test(String(c)))) fail(`${p}RootCert`, 'contains a private key');
}

function checkConfig(v: unknown): void {
  const p = 'data.config.';
  if (!isObj(v)) fail('data.config', 'expected an object');
  onlyKeys(v, CONFIG_KEYS, 'data.config');
  for (const k of ['LeafCertTTL', 'IntermediateCertTTL', 'RootCertTTL']) str(v, k, p, true);
  if (v.PrivateKeyType !== 'ec' && v.PrivateKeyType !== 'rsa') fail(`${p}PrivateKeyType`, 'expected "ec" or "rsa"');
  num(v, 'PrivateKeyBits', p, true);
  num(v, 'CSRMaxPerSecond', p);
}

function strings(o: Obj, key: string, path: string): void {
  const v = o[key];
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string' && x.length > 0)) fail(`${path}${key}`, 'expected an array of non-empty strings');
}

function checkPolicy(v: unknown): void {
  const p = 'data.policy.';
  if (!isObj(v)) fail('data.policy', 'expected an object');
  onlyKeys(v, POLICY_KEYS, 'data.policy');
  for (const k of ['ID', 'Name']) str(v, k, p, true);
  for (const k of ['Description', 'Rules']) str(v, k, p);
  strings(v, 'Datacenters', p);
}

function checkToken(v: unknown): void {
  const p = 'data.token.';
  if (!isObj(v)) fail('data.token', 'expected an object');
  onlyKeys(v, TOKEN_KEYS, 'data.token');
  for (const k of ['AccessorID', 'Datacenter']) str(v, k, p, true);
  str(v, 'Description', p);
  // The log carries a hash of the secret, never the secret.
  if (typeof v.SecretHash !== 'string' || !/^[0-9a-f]{64}$/.test(v.SecretHash)) fail(`${p}SecretHash`, 'expected a SHA-256 in hex');
  strings(v, 'Policies', p);
  if (typeof v.Local !== 'boolean') fail(`${p}Local`, 'expected a boolean');
  num(v, 'CreateTime', p);
  num(v, 'ExpirationTime', p);
}

function checkRecord(v: unknown): IntentionRecord {
  const p = 'data.intention.';
  if (!isObj(v)) fail('data.intention', 'expected an object');
  onlyKeys(v, RECORD_KEYS, 'data.intention');
  str(v, 'ID', p, true);
  for (const k of ['SourceNS', 'SourceName', 'DestinationNS', 'DestinationName', 'Description']) str(v, k, p);
  if (v.SourceType !== 'consul') fail(`${p}SourceType`, 'expected "consul"');
  if (v.Action !== 'allow' && v.Action !== 'deny') fail(`${p}Action`, 'expected "allow" or "deny"');
  const meta = v.Meta;
  if (!isObj(meta)) fail(`${p}Meta`, 'expected an object');
  for (const key in meta) if (typeof meta[key] !== 'string') fail(`${p}Meta.${key}`, 'expected a string');
  num(v, 'Precedence', p, true);
  num(v, 'CreatedAt', p);
  num(v, 'UpdatedAt', p);
  return v as unknown as IntentionRecord;
}

function checkEvent(raw: unknown): TrellisEvent {
  if (!isObj(raw)) fail('(root)', 'expected an object');
  onlyKeys(raw, ENVELOPE_KEYS, '');
  const v = num(raw, 'v', '', true);
  if (v < 1) fail('v', 'expected a positive integer');
  num(raw, 'at', '');
  str(raw, 'by', '');
  if (raw.rid !== undefined) str(raw, 'rid', '');
  if (raw.origin !== undefined) {
    const o = raw.origin;
    if (!isObj(o)) fail('origin', 'expected an object');
    onlyKeys(o, ORIGIN_KEYS, 'origin');
    for (const k of ['dc', 'addr', 'req']) str(o, k, 'origin.');
  }
  if (raw.prev !== undefined && (typeof raw.prev !== 'string' || !/^[0-9a-f]{64}$/.test(raw.prev))) fail('prev', 'expected a SHA-256 in hex');
  const data = raw.data;
  if (!isObj(data)) fail('data', 'expected an object');
  switch (raw.type) {
    case 'IntentionCreated':
    case 'IntentionUpdated':
      onlyKeys(data, INTENTION_DATA_KEYS, 'data');
      checkRecord(data.intention);
      break;
    case 'IntentionDeleted':
      onlyKeys(data, ID_DATA_KEYS, 'data');
      str(data, 'id', 'data.', true);
      break;
    case 'LogStarted':
      onlyKeys(data, PRIMARY_DATA_KEYS, 'data');
      str(data, 'primary', 'data.', true);
      break;
    case 'IntermediateIssued':
      onlyKeys(data, INTERMEDIATE_KEYS, 'data');
      for (const k of ['datacenter', 'certificate', 'serial', 'rootId']) str(data, k, 'data.', true);
      num(data, 'notAfter', 'data.');
      if (/PRIVATE KEY/.test(String(data.certificate))) fail('data.certificate', 'contains a private key');
      break;
    case 'CARootCreated':
      onlyKeys(data, CA_ROOT_CREATED_KEYS, 'data');
      str(data, 'trustDomain', 'data.', true);
      checkRoot(data.root);
      if (data.config !== undefined) checkConfig(data.config);
      break;
    case 'CAConfigSet':
      onlyKeys(data, CONFIG_SET_KEYS, 'data');
      checkConfig(data.config);
      break;
    case 'CARootRotated':
      onlyKeys(data, ROTATED_KEYS, 'data');
      str(data, 'previousRootId', 'data.', true);
      checkRoot(data.root);
      if (data.config !== undefined) checkConfig(data.config);
      break;
    case 'CARootsPruned':
      onlyKeys(data, PRUNED_KEYS, 'data');
      if (!Array.isArray(data.rootIds) || data.rootIds.length === 0 || !data.rootIds.every((id) => typeof id === 'string' && id.length > 0)) {
        fail('data.rootIds', 'expected a non-empty array of root ids');
      }
      break;
    case 'CSRRefused':
      onlyKeys(data, CSR_REFUSED_KEYS, 'data');
      for (const k of ['datacenter', 'reason']) str(data, k, 'data.', true);
      str(data, 'csr', 'data.');
      if (num(data, 'count', 'data.', true) < 1) fail('data.count', 'expected a positive integer');
      break;
    case 'SnapshotTaken':
      onlyKeys(data, SNAPSHOT_KEYS, 'data');
      if (num(data, 'seq', 'data.', true) < 1) fail('data.seq', 'expected a positive integer');
      for (const k of ['digest', 'chainHash']) if (!/^[0-9a-f]{64}$/.test(str(data, k, 'data.'))) fail(`data.${k}`, 'expected a hex SHA-256');
      for (const k of ['rows', 'bytes']) if (num(data, k, 'data.', true) < 0) fail(`data.${k}`, 'expected a non-negative integer');
      break;
    case 'ACLPolicySet':
      onlyKeys(data, POLICY_DATA_KEYS, 'data');
      checkPolicy(data.policy);
      break;
    case 'ACLPolicyDeleted':
      onlyKeys(data, ID_DATA_KEYS, 'data');
      str(data, 'id', 'data.', true);
      break;
    case 'ACLTokenSet':
      onlyKeys(data, TOKEN_DATA_KEYS, 'data');
      checkToken(data.token);
      break;
    case 'ACLTokenDeleted':
      onlyKeys(data, ACCESSOR_DATA_KEYS, 'data');
      str(data, 'accessorId', 'data.', true);
      break;
    default:
      fail('type', `unknown event type ${JSON.stringify(raw.type)}`);
  }
  return raw as unknown as TrellisEvent;
}

/**
 * Decodes and validates an envelope. A schema version newer than this build knows is E_SCHEMA
 * (the projector halts: an upgrade is needed); anything malformed is E_DECODE.
 */
export function decodeEvent(bytes: Uint8Array): TrellisEvent {
  let raw: unknown;
  try {
    raw = decoder.decode(bytes);
  } catch (err) {
    throw new TrellisError('E_DECODE', `event is not valid msgpack: ${(err as Error).message}`, { cause: err });
  }
  if (isObj(raw) && typeof raw.v === 'number' && raw.v > SCHEMA_VERSION) {
    throw new TrellisError('E_SCHEMA', `event schema version ${raw.v} is newer than this build reads (${SCHEMA_VERSION}): upgrade trellis`);
  }
  try {
    return checkEvent(raw);
  } catch (err) {
    if (err instanceof Invalid) throw new TrellisError('E_DECODE', `event does not match schema ${SCHEMA_VERSION}: ${err.message}`);
    throw err;
  }
}
