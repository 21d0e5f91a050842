import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../common/index.js';
import { caTtls, createKeyStore, createRoot, decideRootCreation, readPassphraseFile, rootKeyName, sameConfig, type KeyStore } from '../ca/index.js';
import { DEFAULT_CA_CONFIG, type CAConfigRecord } from '../events/index.js';
import type { Writer } from '../log/index.js';
import type { ViewReader } from '../view/index.js';

/** The passphrase for CA keys: the configured file, or one generated once beside the keys (0600). */
function passphrase(dataDir: string, configured: string | undefined, logger: Logger): string {
  if (configured) return readPassphraseFile(configured);
  const dir = join(dataDir, 'ca');
  const file = join(dir, 'passphrase');
  if (!existsSync(file)) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    writeFileSync(file, `${randomBytes(32).toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
    logger.warn({ file }, 'no ca_key_passphrase_file configured: generated one beside the CA keys; keep it elsewhere for encryption at rest to mean more');
  }
  return readPassphraseFile(file);
}

/** This datacenter's CA key store (`data_dir/ca`), encrypted with its passphrase. */
export function caKeyStore(dataDir: string, passphraseFile: string | undefined, logger: Logger): KeyStore {
  return createKeyStore(join(dataDir, 'ca'), passphrase(dataDir, passphraseFile, logger));
}

/**
 * At the primary's first start: a root key and trust domain, the key saved (encrypted) before the
 * public root is appended, so a root in the log always has its key on this disk.
 */
export async function bootstrapCa({ keys, datacenter, writer, view, logger, config, now = Date.now }: {
  keys: KeyStore;
  datacenter: string;
  writer: Writer;
  view: ViewReader;
  logger: Logger;
  /** `connect.ca_config`: used for the first root only, as Consul uses it. */
  config: CAConfigRecord;
  now?: () => number;
}): Promise<void> {
  const existing = view.caState();
  if (existing) {
    if (!sameConfig(existing.Config, config) && !sameConfig(config, DEFAULT_CA_CONFIG)) {
      logger.warn({ configured: config, inEffect: existing.Config }, 'connect.ca_config differs from the CA configuration in effect; it applies at first start only: use PUT /v1/connect/ca/configuration (trellis ca set-config) to change it');
    }
    return;
  }
  const root = createRoot({ now: now(), keyType: config.PrivateKeyType, keyBits: config.PrivateKeyBits, ttlMs: caTtls(config).rootMs });
  keys.save(rootKeyName(root.record), root.keyPair.privateKey);
  const { result } = await writer.submit(`ca-bootstrap-${datacenter}-${root.record.ID}`, (state) => decideRootCreation(state, root, now(), `agent:${datacenter}`, config));
  if (result === root.record.ID) logger.info({ trustDomain: root.trustDomain, rootId: root.record.ID, keyType: config.PrivateKeyType, keyBits: config.PrivateKeyBits }, 'CA initialised');
}
