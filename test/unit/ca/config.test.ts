import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { needsRotation, parseCaConfigurationBody, sameConfig, toConsulCaConfiguration, validateCaConfig } from '../../../src/ca/index.js';
import { DEFAULT_CA_CONFIG } from '../../../src/events/index.js';
import { isTrellisError } from '../../../src/common/index.js';

const refused = (body: unknown, message: RegExp) =>
  assert.throws(() => parseCaConfigurationBody(body), (err) => isTrellisError(err, 'E_VALIDATION') && message.test(err.message));

describe('CA configuration', () => {
  it('fills omitted fields with Consul\'s defaults (Config replaces the whole configuration)', () => {
    assert.deepEqual(parseCaConfigurationBody({ Provider: 'consul', Config: {} }), { config: DEFAULT_CA_CONFIG, forceWithoutCrossSigning: false });
    const { config } = parseCaConfigurationBody({ Provider: 'consul', Config: { LeafCertTTL: '24h' } });
    assert.deepEqual(config, { ...DEFAULT_CA_CONFIG, LeafCertTTL: '24h' });
  });

  it('matches keys as Consul\'s decoder does: any case, snake_case, numbers as strings', () => {
    const { config } = parseCaConfigurationBody({ Provider: 'consul', Config: { leaf_cert_ttl: '2h', PRIVATEKEYTYPE: 'rsa', private_key_bits: '4096', csr_max_per_second: 5 } });
    assert.deepEqual(config, { ...DEFAULT_CA_CONFIG, LeafCertTTL: '2h', PrivateKeyType: 'rsa', PrivateKeyBits: 4096, CSRMaxPerSecond: 5 });
  });

  it('accepts what GET returns (a read-modify-write round trip) and keys Consul ignores', () => {
    const got = toConsulCaConfiguration(undefined);
    assert.deepEqual(parseCaConfigurationBody(got).config, DEFAULT_CA_CONFIG);
    assert.deepEqual(parseCaConfigurationBody({ Provider: 'consul', Config: { RotationPeriod: '2160h', CSRMaxConcurrent: 0 }, State: {} }).config, DEFAULT_CA_CONFIG);
  });

  it('validates with Consul\'s rules and messages, in Consul\'s order', () => {
    const base = { ...DEFAULT_CA_CONFIG };
    const bad = (patch: Partial<typeof base>, message: string) =>
      assert.throws(() => validateCaConfig({ ...base, ...patch }), (err) => isTrellisError(err, 'E_VALIDATION') && err.message === message);
    bad({ LeafCertTTL: '59m' }, 'leaf cert TTL must be greater or equal than 1h0m0s');
    bad({ LeafCertTTL: '8761h' }, 'leaf cert TTL must be less than 8760h0m0s');
    bad({ LeafCertTTL: '2h', IntermediateCertTTL: '4h', RootCertTTL: '5h' }, 'Intermediate Cert TTL must be greater or equal than 3 * LeafCertTTL (>=6h0m0s).');
    bad({ LeafCertTTL: '1h', IntermediateCertTTL: '2h', RootCertTTL: '5h' }, 'Intermediate Cert TTL must be greater or equal than 3h');
    bad({ IntermediateCertTTL: '8760h', RootCertTTL: '8759h' }, 'root cert TTL is set and is not greater than intermediate cert ttl. root cert ttl: 8759h0m0s, intermediate cert ttl: 8760h0m0s');
    bad({ PrivateKeyType: 'rsa', PrivateKeyBits: 256 }, 'RSA key length must be 2048 or 4096 bits');
    bad({ PrivateKeyBits: 2048 }, 'EC key length must be one of (224, 256, 384, 521) bits');
    bad({ PrivateKeyType: 'dsa' as 'ec' }, "private key type must be either 'ec' or 'rsa'");
    assert.doesNotThrow(() => validateCaConfig({ ...base, LeafCertTTL: '1h', IntermediateCertTTL: '3h', RootCertTTL: '3h' }));
  });

  it('refuses other providers, provider state, bring-your-own roots, unknown fields and malformed bodies', () => {
    refused(undefined, /^Request decode failed/);
    refused([], /^Request decode failed/);
    refused({ Config: {} }, /unknown CA provider ""/);
    refused({ Provider: 'aws-pca', Config: {} }, /unknown CA provider "aws-pca"/);
    refused({ Provider: 'consul', Config: {}, State: { RootCert: 'x' } }, /^Provider State is read-only\. It must be omitted or identical to the current value$/);
    refused({ Provider: 'consul', Config: { RootCert: 'pem' } }, /not supported/);
    refused({ Provider: 'consul', Config: { Bogus: 1 } }, /unknown CA configuration field "Bogus"/);
    refused({ Provider: 'consul', Config: { LeafCertTTL: 72 } }, /Config\.LeafCertTTL must be a duration string/);
    refused({ Provider: 'consul', Config: { PrivateKeyBits: 'lots' } }, /Config\.PrivateKeyBits must be a number/);
    refused({ Provider: 'consul', Config: [] }, /Config must be an object/);
    refused({ Provider: 'consul', Extra: true }, /unknown field "Extra"/);
    refused({ Provider: 'consul', ForceWithoutCrossSigning: 'yes' }, /ForceWithoutCrossSigning must be true or false/);
  });

  it('rotates only on a new key type or size', () => {
    assert.equal(needsRotation(DEFAULT_CA_CONFIG, { ...DEFAULT_CA_CONFIG, LeafCertTTL: '1h' }), false);
    assert.equal(needsRotation(DEFAULT_CA_CONFIG, { ...DEFAULT_CA_CONFIG, PrivateKeyBits: 384 }), true);
    assert.equal(needsRotation(DEFAULT_CA_CONFIG, { ...DEFAULT_CA_CONFIG, PrivateKeyType: 'rsa', PrivateKeyBits: 2048 }), true);
    assert.equal(sameConfig(DEFAULT_CA_CONFIG, { ...DEFAULT_CA_CONFIG }), true);
    assert.equal(sameConfig(DEFAULT_CA_CONFIG, { ...DEFAULT_CA_CONFIG, CSRMaxPerSecond: 1 }), false);
  });
});
