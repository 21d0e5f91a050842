import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import { createGzip, gunzip } from 'node:zlib';
import { Decoder, Encoder } from '@msgpack/msgpack';
import { TrellisError } from '../common/index.js';
import { VIEW_TABLES, type ViewTable } from '../events/index.js';
import type { ViewSnapshot } from '../view/index.js';

/** Bumped when the snapshot's encoding changes. */
export const SNAPSHOT_FORMAT = 1;

const gunzipAsync = promisify(gunzip);
const encoder = new Encoder();
const decoder = new Decoder();

/** A snapshot as stored: gzip of the canonical bytes, and the SHA-256 of those canonical bytes. */
export interface EncodedSnapshot {
  readonly seq: number;
  readonly chainHash: string;
  /** Hex SHA-256 of the canonical (uncompressed) bytes: what SnapshotTaken records. */
  readonly digest: string;
  readonly rows: number;
  readonly bytes: Uint8Array;
}

/**
 * The canonical bytes: a msgpack array [format, schema, seq, chainHash, indexes, tables], every
 * part in a fixed order. Equal views give equal bytes, so the digest of a replay to `seq` equals
 * the digest the primary recorded.
 */
export function canonicalSnapshotBytes(s: ViewSnapshot): Uint8Array {
  return encoder.encode([SNAPSHOT_FORMAT, s.schema, s.seq, s.chainHash, s.indexes, s.tables]);
}

export const sha256Hex = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

export const snapshotRows = (s: ViewSnapshot) => s.tables.reduce((n, [, entries]) => n + entries.length, 0);

/** A msgpack array header for `n` elements, as the encoder writes it (smallest form). */
function arrayHeader(n: number): Uint8Array {
  if (n < 16) return Uint8Array.of(0x90 | n);
  if (n < 0x10000) return Uint8Array.of(0xdc, n >> 8, n & 0xff);
  const b = new Uint8Array(5);
  b[0] = 0xdd;
  new DataView(b.buffer).setUint32(1, n);
  return b;
}

/**
 * The canonical bytes in pieces (their concatenation equals canonicalSnapshotBytes): a large view
 * is encoded a slice at a time, never as one buffer grown over and over in one event-loop turn.
 */
export function* canonicalSnapshotParts(s: ViewSnapshot, slice = 2000): Generator<Uint8Array> {
  yield arrayHeader(6);
  yield encoder.encode(SNAPSHOT_FORMAT);
  yield encoder.encode(s.schema);
  yield encoder.encode(s.seq);
  yield encoder.encode(s.chainHash);
  yield encoder.encode(s.indexes);
  yield arrayHeader(s.tables.length);
  for (const [table, entries] of s.tables) {
    yield arrayHeader(2);
    yield encoder.encode(table);
    yield arrayHeader(entries.length);
    for (let i = 0; i < entries.length; i += slice) {
      const parts = entries.slice(i, i + slice).map((e) => encoder.encode(e));
      yield Buffer.concat(parts);
    }
  }
}

/**
 * Encodes, digests and compresses a snapshot a slice at a time, yielding to the event loop between
 * slices (the compression itself runs on libuv's thread pool).
 */
export async function encodeSnapshot(s: ViewSnapshot): Promise<EncodedSnapshot> {
  const hash = createHash('sha256');
  const gz = createGzip({ level: 6 });
  const compressed: Buffer[] = [];
  gz.on('data', (chunk: Buffer) => compressed.push(chunk));
  const finished = new Promise<void>((resolve, reject) => {
    gz.on('end', resolve);
    gz.on('error', reject);
  });
  for (const part of canonicalSnapshotParts(s)) {
    hash.update(part);
    if (!gz.write(part)) await new Promise((r) => gz.once('drain', r));
    else await new Promise((r) => setImmediate(r));
  }
  gz.end();
  await finished;
  const bytes = Buffer.concat(compressed);
  return { seq: s.seq, chainHash: s.chainHash, digest: hash.digest('hex'), rows: snapshotRows(s), bytes: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength) };
}

function bad(why: string): never {
  throw new TrellisError('E_SNAPSHOT', `snapshot is not valid: ${why}`);
}

const isHex64 = (v: unknown): v is string => typeof v === 'string' && /^[0-9a-f]{64}$/.test(v);
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0;

/**
 * Decompresses and checks a snapshot: its shape, and that its digest is `expectedDigest` (the one
 * published with it, or recorded in the log). Any difference is E_SNAPSHOT; nothing is loaded.
 */
export async function decodeSnapshot(compressed: Uint8Array, expectedDigest: string): Promise<{ snapshot: ViewSnapshot; digest: string }> {
  let canonical: Buffer;
  try {
    canonical = await gunzipAsync(compressed);
  } catch (err) {
    bad(`not gzip (${(err as Error).message})`);
  }
  const digest = sha256Hex(canonical);
  if (digest !== expectedDigest) bad(`its digest is ${digest.slice(0, 16)}…, the primary recorded ${expectedDigest.slice(0, 16)}…`);
  let raw: unknown;
  try {
    raw = decoder.decode(canonical);
  } catch (err) {
    bad(`not msgpack (${(err as Error).message})`);
  }
  if (!Array.isArray(raw) || raw.length !== 6) bad('expected [format, schema, seq, chainHash, indexes, tables]');
  const [format, schema, seq, chainHash, indexes, tables] = raw as unknown[];
  if (format !== SNAPSHOT_FORMAT) bad(`format ${String(format)}, this build reads ${SNAPSHOT_FORMAT}`);
  if (!isCount(schema) || !isCount(seq) || seq < 1 || !isHex64(chainHash)) bad('schema, seq or chainHash malformed');
  const known = new Set<string>(VIEW_TABLES);
  if (!Array.isArray(indexes) || !indexes.every((e) => Array.isArray(e) && e.length === 2 && known.has(e[0] as string) && isCount(e[1]))) bad('indexes malformed');
  if (
    !Array.isArray(tables) ||
    !tables.every(
      (t) => Array.isArray(t) && t.length === 2 && known.has(t[0] as string) && Array.isArray(t[1]) && (t[1] as unknown[]).every((e) => Array.isArray(e) && e.length === 2 && typeof e[0] === 'string' && e[1] instanceof Uint8Array),
    )
  ) {
    bad('tables malformed');
  }
  return {
    snapshot: {
      schema,
      seq,
      chainHash,
      indexes: indexes as Array<[ViewTable, number]>,
      tables: tables as Array<[ViewTable, Array<[string, Uint8Array]>]>,
    },
    digest,
  };
}
