import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createKeyStore, generateKeyPair, readPassphraseFile } from '../../../src/ca/index.js';
import { isTrellisError } from '../../../src/common/index.js';
import { makeTempDir } from '../../helpers/temp.js';

const PASS = 'correct horse battery staple';

describe('CA key store', () => {
  it('keeps keys encrypted, mode 0600 in a 0700 directory, and loads them back', () => {
    const dir = join(makeTempDir(), 'ca');
    const store = createKeyStore(dir, PASS);
    const { privateKey } = generateKeyPair('ec');
    store.save('root', privateKey);
    assert.equal(statSync(store.path('root')).mode & 0o777, 0o600);
    assert.equal(statSync(dir).mode & 0o777, 0o700);
    const text = readFileSync(store.path('root'), 'utf8');
    assert.match(text, /^-----BEGIN ENCRYPTED PRIVATE KEY-----/);
    assert.doesNotMatch(text, /BEGIN PRIVATE KEY|BEGIN EC PRIVATE KEY/);
    const loaded = store.load('root');
    assert.ok(loaded);
    assert.deepEqual(loaded.export({ format: 'jwk' }), privateKey.export({ format: 'jwk' }));
    assert.equal(store.load('absent'), undefined);
  });

  it('refuses a wrong passphrase and a key file others can read', () => {
    const dir = join(makeTempDir(), 'ca');
    createKeyStore(dir, PASS).save('root', generateKeyPair('rsa').privateKey);
    assert.throws(() => createKeyStore(dir, 'another passphrase entirely').load('root'), (err) => isTrellisError(err, 'E_CONFIG') && /cannot be decrypted/.test(err.message));
    chmodSync(join(dir, 'root.key.pem'), 0o644);
    assert.throws(() => createKeyStore(dir, PASS).load('root'), /readable by others \(mode 644\): chmod 600 it/);
  });

  it('reads a private passphrase file, and refuses a shared or short one', () => {
    const dir = makeTempDir();
    const file = join(dir, 'pass');
    writeFileSync(file, `${PASS}\n`, { mode: 0o600 });
    assert.equal(readPassphraseFile(file), PASS);
    chmodSync(file, 0o640);
    assert.throws(() => readPassphraseFile(file), /readable by others \(mode 640\)/);
    writeFileSync(join(dir, 'short'), 'abc', { mode: 0o600 });
    assert.throws(() => readPassphraseFile(join(dir, 'short')), /fewer than 16 characters/);
    assert.throws(() => readPassphraseFile(join(dir, 'nope')), (err) => isTrellisError(err, 'E_CONFIG'));
  });
});
