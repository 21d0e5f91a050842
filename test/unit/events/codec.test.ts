import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { encode } from '@msgpack/msgpack';
import { decodeEvent, encodeEvent, SCHEMA_VERSION, type TrellisEvent } from '../../../src/events/index.js';
import { isTrellisError } from '../../../src/common/index.js';

const name = fc.stringMatching(/^[a-z*][a-z0-9-]{0,20}$/);
const record = fc.record({
  ID: fc.uuid(),
  SourceNS: fc.constant('default'),
  SourceName: name,
  DestinationNS: fc.constant('default'),
  DestinationName: name,
  SourceType: fc.constant('consul' as const),
  Action: fc.constantFrom('allow' as const, 'deny' as const),
  Description: fc.string({ maxLength: 40 }),
  Meta: fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }), fc.string({ maxLength: 8 }), { maxKeys: 4 }),
  Precedence: fc.integer({ min: 1, max: 9 }),
  CreatedAt: fc.integer({ min: 0, max: 2 ** 42 }),
  UpdatedAt: fc.integer({ min: 0, max: 2 ** 42 }),
});
const envelope = { v: fc.constant(SCHEMA_VERSION), at: fc.integer({ min: 0, max: 2 ** 42 }), by: fc.string({ maxLength: 12 }) };
const pem = fc.base64String({ minLength: 4, maxLength: 40 }).map((b) => `-----BEGIN CERTIFICATE-----\n${b}\n-----END CERTIFICATE-----\n`);
const hexId = fc.uint8Array({ minLength: 4, maxLength: 20 }).map((b) => Buffer.from(b).toString('hex').replace(/(..)(?!$)/g, '$1:'));
const sha = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => Buffer.from(b).toString('hex'));
const root = fc.record({
  ID: hexId,
  Name: fc.integer({ min: 1, max: 99 }).map((n) => `trellis CA ${n}`),
  SerialNumber: fc.integer({ min: 1, max: 2 ** 53 - 1 }),
  SigningKeyID: hexId,
  NotBefore: fc.integer({ min: 0, max: 2 ** 42 }),
  NotAfter: fc.integer({ min: 0, max: 2 ** 42 }),
  RootCert: pem,
  IntermediateCerts: fc.array(pem, { maxLength: 2 }),
  PrivateKeyType: fc.constantFrom('ec' as const, 'rsa' as const),
  PrivateKeyBits: fc.constantFrom(224, 256, 384, 521, 2048, 4096),
});
const caConfig = fc.record({
  LeafCertTTL: fc.constantFrom('72h', '1h', '30m0s'),
  IntermediateCertTTL: fc.constantFrom('8760h', '24h'),
  RootCertTTL: fc.constantFrom('87600h'),
  PrivateKeyType: fc.constantFrom('ec' as const, 'rsa' as const),
  PrivateKeyBits: fc.constantFrom(256, 2048),
  CSRMaxPerSecond: fc.integer({ min: 0, max: 500 }),
});
const event: fc.Arbitrary<TrellisEvent> = fc.oneof(
  fc.record({ ...envelope, type: fc.constant('LogStarted' as const), data: fc.record({ primary: name }) }),
  fc.record({ ...envelope, type: fc.constant('CARootCreated' as const), data: fc.record({ trustDomain: fc.uuid().map((u) => `${u}.consul`), root }) }),
  fc.record({
    ...envelope,
    type: fc.constant('IntermediateIssued' as const),
    data: fc.record({ datacenter: name, certificate: pem, serial: hexId, rootId: hexId, notAfter: fc.integer({ min: 0, max: 2 ** 42 }) }),
  }),
  fc.record({ ...envelope, type: fc.constant('CAConfigSet' as const), data: fc.record({ config: caConfig }) }),
  fc.record({ ...envelope, type: fc.constant('CARootRotated' as const), data: fc.record({ root, previousRootId: hexId, config: caConfig }, { requiredKeys: ['root', 'previousRootId'] }) }),
  fc.record({ ...envelope, type: fc.constant('CARootsPruned' as const), data: fc.record({ rootIds: fc.array(hexId, { minLength: 1, maxLength: 3 }) }) }),
  fc.record({ ...envelope, type: fc.constant('IntentionCreated' as const), data: fc.record({ intention: record }) }),
  fc.record({ ...envelope, type: fc.constant('IntentionUpdated' as const), data: fc.record({ intention: record }) }),
  fc.record({ ...envelope, type: fc.constant('IntentionDeleted' as const), data: fc.record({ id: fc.uuid() }) }),
  fc.record({
    ...envelope,
    type: fc.constant('SnapshotTaken' as const),
    data: fc.record({ seq: fc.integer({ min: 1, max: 2 ** 40 }), digest: sha, chainHash: sha, rows: fc.nat(), bytes: fc.nat() }),
  }),
);

describe('event codec', () => {
  it('round-trips every event: decode(encode(e)) equals e', () => {
    fc.assert(fc.property(event, (e) => assert.deepEqual(decodeEvent(encodeEvent(e)), JSON.parse(JSON.stringify(e)))));
  });

  it('encodes equal events to equal bytes whatever the key order', () => {
    fc.assert(
      fc.property(event, (e) => {
        const reordered = Object.fromEntries(Object.entries(e).reverse()) as unknown as TrellisEvent;
        assert.deepEqual(encodeEvent(reordered), encodeEvent(e));
      }),
    );
  });

  it('refuses a newer schema version with E_SCHEMA, naming both versions', () => {
    const bytes = encode({ v: SCHEMA_VERSION + 1, type: 'IntentionDeleted', at: 1, by: 'x', data: { id: 'a' } });
    assert.throws(() => decodeEvent(bytes), (err) => isTrellisError(err, 'E_SCHEMA') && /version 2 is newer/.test(err.message));
  });

  it('refuses garbage bytes, unknown types and missing fields with E_DECODE', () => {
    assert.throws(() => decodeEvent(new Uint8Array([0xc1])), (err) => isTrellisError(err, 'E_DECODE'));
    assert.throws(() => decodeEvent(encode({ v: 1, type: 'Nope', at: 1, by: 'x', data: {} })), (err) => isTrellisError(err, 'E_DECODE'));
    assert.throws(() => decodeEvent(encode({ v: 1, type: 'IntentionDeleted', at: 1, by: 'x', data: {} })), (err) => isTrellisError(err, 'E_DECODE') && /data\.id/.test(err.message));
  });

  it('never throws anything but a TrellisError on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        try {
          decodeEvent(bytes);
        } catch (err) {
          assert.ok(isTrellisError(err), String(err));
        }
      }),
    );
  });
});
