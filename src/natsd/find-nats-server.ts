import { accessSync, constants, existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { TrellisError } from '../common/index.js';

const INSTALL_HINT = 'set NATS_SERVER_BIN or apt-get install nats-server';

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** `NATS_SERVER_BIN`, then `PATH`, then `/usr/sbin`; a clear error naming the fix when absent. */
export function findNatsServer(env: Readonly<Record<string, string | undefined>>, fallbackDirs: readonly string[] = ['/usr/sbin']): string {
  const explicit = env.NATS_SERVER_BIN;
  if (explicit) {
    if (!existsSync(explicit)) throw new TrellisError('E_CONFIG', `NATS_SERVER_BIN=${explicit} does not exist: point it at a nats-server binary or apt-get install nats-server`);
    if (!executable(explicit)) throw new TrellisError('E_CONFIG', `NATS_SERVER_BIN=${explicit} is not executable`);
    return explicit;
  }
  const dirs = [...(env.PATH ?? '').split(delimiter).filter(Boolean), ...fallbackDirs];
  for (const dir of dirs) {
    const candidate = join(dir, 'nats-server');
    if (existsSync(candidate) && executable(candidate)) return candidate;
  }
  throw new TrellisError('E_CONFIG', `nats-server not found: ${INSTALL_HINT}`);
}
