import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { encode } from '@msgpack/msgpack';
import { isTrellisError } from '../../../src/common/index.js';
import { decodeEvent } from '../../../src/events/index.js';
import { parseSpiffeId } from '../../../src/intentions/index.js';
import { parseCsr, validateIntermediateCsr } from '../../../src/ca/index.js';
import { parseCaConfigurationBody } from '../../../src/ca/index.js';
import { parseQueryBody, parseCatalogRegister, parseAgentServiceRegister } from '../../../src/catalog/index.js';
import { parseUpstreamFlag } from '../../../src/proxy/index.js';
import { parseRules } from '../../../src/acl/index.js';

/** Cases per property: small in CI, large with `npm run fuzz` (FUZZ_RUNS). */
const numRuns = Number(process.env.FUZZ_RUNS ?? 300);

/** Runs `parse`; anything it throws must be a TrellisError of `code` (a clear 4xx), never a crash. */
function onlyClearErrors(parse: () => unknown, code: 'E_VALIDATION' | 'E_DECODE' | 'E_SCHEMA' = 'E_VALIDATION', also: readonly string[] = []): void {
  try {
    parse();
  } catch (err) {
    assert.ok(isTrellisError(err) && (err.code === code || also.includes(err.code)), `unexpected ${String(err)}`);
  }
}

describe('fuzzing the parsers that face the outside', () => {
  it('the envelope decoder: arbitrary bytes and arbitrary msgpack values are E_DECODE/E_SCHEMA, never a crash', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => onlyClearErrors(() => decodeEvent(bytes), 'E_DECODE', ['E_SCHEMA'])), { numRuns });
    const envelopeish = fc.record({ v: fc.jsonValue(), type: fc.oneof(fc.constantFrom('IntentionCreated', 'CARootRotated', 'LogStarted'), fc.string()), at: fc.jsonValue(), by: fc.jsonValue(), prev: fc.jsonValue(), data: fc.jsonValue() }, { requiredKeys: [] });
    fc.assert(fc.property(fc.oneof(fc.jsonValue(), envelopeish), (value) => onlyClearErrors(() => decodeEvent(encode(value)), 'E_DECODE', ['E_SCHEMA'])), { numRuns });
  });

  it('the SPIFFE URI parser', () => {
    const uriish = fc.oneof(
      fc.string({ maxLength: 200 }),
      fc.webUrl(),
      fc.tuple(fc.domain(), fc.array(fc.string({ maxLength: 12 }), { maxLength: 8 })).map(([host, parts]) => `spiffe://${host}/${parts.join('/')}`),
    );
    fc.assert(fc.property(uriish, (uri) => onlyClearErrors(() => parseSpiffeId(uri))), { numRuns });
  });

  it('the CSR parser: garbage, base64 garbage in PEM armour, and oversized input are refused clearly', () => {
    const pemWrapped = fc.uint8Array({ maxLength: 2048 }).map((b) => `-----BEGIN CERTIFICATE REQUEST-----\n${Buffer.from(b).toString('base64')}\n-----END CERTIFICATE REQUEST-----\n`);
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 300 }), pemWrapped), (pem) => {
        onlyClearErrors(() => parseCsr(pem));
        onlyClearErrors(() => validateIntermediateCsr(pem, { trustDomain: 'x.consul', datacenter: 'dc2' }));
      }),
      { numRuns },
    );
  });

  it('JSON bodies: CA configuration, prepared queries, catalog and agent registrations', () => {
    const json = fc.jsonValue({ maxDepth: 4 });
    const shaped = fc.record({
      Provider: fc.oneof(fc.constant('consul'), fc.jsonValue()),
      Config: fc.dictionary(fc.constantFrom('LeafCertTTL', 'PrivateKeyType', 'PrivateKeyBits', 'leaf_cert_ttl', 'Other'), fc.jsonValue()),
      Name: fc.jsonValue(),
      Node: fc.oneof(fc.string(), fc.jsonValue()),
      Address: fc.jsonValue(),
      Service: fc.oneof(fc.jsonValue(), fc.record({ Service: fc.jsonValue(), Port: fc.jsonValue(), Kind: fc.jsonValue(), Failover: fc.jsonValue() })),
      Check: fc.jsonValue(),
      Connect: fc.jsonValue(),
    }, { requiredKeys: [] });
    fc.assert(
      fc.property(fc.oneof(json, shaped), (body) => {
        onlyClearErrors(() => parseCaConfigurationBody(body));
        onlyClearErrors(() => parseQueryBody(body, 'id'));
        onlyClearErrors(() => parseCatalogRegister(body, 'dc1', { service: () => undefined, nodeId: () => undefined }));
        onlyClearErrors(() => parseAgentServiceRegister(body, 'node', new Set()));
      }),
      { numRuns },
    );
  });

  it('the ACL rule language: arbitrary text and near-misses of real rules are "Failed to parse ACL rules", never a crash', () => {
    const word = fc.constantFrom('service', 'service_prefix', 'node', 'query', 'operator', 'acl', 'policy', 'intentions', 'read', 'write', 'deny', '"web"', '""', '{', '}', '=', '#', '//', '/*', '*/', '"', '\\', '\n', ',', ':');
    const nearMiss = fc.array(word, { maxLength: 30 }).map((w) => w.join(' '));
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 200 }), nearMiss, fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v))), (text) =>
        onlyClearErrors(() => parseRules(text)),
      ),
      { numRuns },
    );
  });

  it('the proxy\'s -upstream flag', () => {
    fc.assert(fc.property(fc.string({ maxLength: 60 }), (flag) => onlyClearErrors(() => parseUpstreamFlag(flag))), { numRuns });
  });
});
