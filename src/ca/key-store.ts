import { createPrivateKey, type KeyObject } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { TrellisError } from '../common/index.js';

/** Reads the passphrase that encrypts CA keys at rest (`ca_key_passphrase_file`); it must be private. */
export function readPassphraseFile(path: string): string {
  let mode: number;
  try {
    mode = statSync(path).mode;
  } catch (err) {
    throw new TrellisError('E_CONFIG', `ca_key_passphrase_file ${path} cannot be read: ${(err as Error).message}`, { cause: err });
  }
  if ((mode & 0o077) !== 0) {
    throw new TrellisError('E_CONFIG', `ca_key_passphrase_file ${path} is readable by others (mode ${(mode & 0o777).toString(8)}): chmod 600 it`);
  }
  const passphrase = readFileSync(path, 'utf8').trim();
  if (passphrase.length < 16) throw new TrellisError('E_CONFIG', `ca_key_passphrase_file ${path} holds fewer than 16 characters: use a longer passphrase`);
  return passphrase;
}

/**
 * Private keys on this datacenter's disk only: encrypted PKCS#8 (AES-256-CBC, the key derived from
 * the passphrase by OpenSSL's PBKDF2), file mode 0600 in a 0700 directory, written atomically.
 */
export interface KeyStore {
  save(name: string, key: KeyObject): void;
  load(name: string): KeyObject | undefined;
  path(name: string): string;
}

export function createKeyStore(dir: string, passphrase: string): KeyStore {
  const path = (name: string) => {
    if (!/^[a-z0-9][a-z0-9-]{0,63}$/.test(name)) throw new TrellisError('E_INTERNAL', `invalid key name ${JSON.stringify(name)}`);
    return join(dir, `${name}.key.pem`);
  };
  return {
    path,
    save(name, key) {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      chmodSync(dir, 0o700);
      const pem = key.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase });
      const target = path(name);
      const tmp = join(dirname(target), `.${name}.${process.pid}.tmp`);
      writeFileSync(tmp, pem, { mode: 0o600 });
      renameSync(tmp, target);
    },
    load(name) {
      const target = path(name);
      if (!existsSync(target)) return undefined;
      const mode = statSync(target).mode;
      if ((mode & 0o077) !== 0) throw new TrellisError('E_CONFIG', `${target} is readable by others (mode ${(mode & 0o777).toString(8)}): chmod 600 it`);
      try {
        return createPrivateKey({ key: readFileSync(target), format: 'pem', passphrase });
      } catch (err) {
        throw new TrellisError('E_CONFIG', `${target} cannot be decrypted with the configured passphrase: ${(err as Error).message}`, { cause: err });
      }
    },
  };
}
