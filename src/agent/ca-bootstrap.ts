import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../common/index.js';
import { createKeyStore, createRoot, decideRootCreation, readPassphraseFile, rootKeyName, type KeyStore } from '../ca/index.js';
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
export async function bootstrapCa({ keys, datacenter, writer, view, logger }: {
  keys: KeyStore;
  datacenter: string;
  writer: Writer;
  view: ViewReader;
  logger: Logger;
}): Promise<void> {
  if (view.caState()) return;
  const root = createRoot({ now: Date.now() });
  keys.save(rootKeyName(root.record), root.keyPair.privateKey);
  const { result } = await writer.submit(`ca-bootstrap-${datacenter}-${root.record.ID}`, (state) => decideRootCreation(state, root, Date.now(), `agent:${datacenter}`));
  if (result === root.record.ID) logger.info({ trustDomain: root.trustDomain, rootId: root.record.ID }, 'CA initialised');
}
