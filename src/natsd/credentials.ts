import { randomBytes } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import bcrypt from 'bcryptjs';
import type { ConnectionOptions } from '@nats-io/nats-core';
import { z } from 'zod';
import { TrellisError, errorMessage } from '../common/index.js';
import type { NatsUserSpec } from './config.js';

/** How a client reaches one datacenter's nats-server: address, identity, the CA to verify it by. */
export interface NatsCredentials {
  readonly url: string;
  readonly user: string;
  readonly password: string;
  /** The only inbox subjects this user may subscribe to (nats-server enforces it). */
  readonly inboxPrefix: string;
  /** PEM CA the server's TLS certificate is verified against. */
  readonly caFile?: string;
}

/** The credentials file: JSON, mode 0600, written by `trellis dev` or by an operator. */
const fileSchema = z.strictObject({
  url: z.string().min(1).optional(),
  user: z.string().min(1),
  password: z.string().min(1),
  inbox_prefix: z.string().regex(/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/, 'subject tokens without wildcards, such as _INBOX.dc2'),
  ca_file: z.string().min(1).optional(),
});

export function writeCredentialsFile(path: string, c: NatsCredentials): void {
  const body = { url: c.url, user: c.user, password: c.password, inbox_prefix: c.inboxPrefix, ...(c.caFile ? { ca_file: c.caFile } : {}) };
  writeFileSync(path, `${JSON.stringify(body, null, 2)}\n`, { mode: 0o600 });
}

/**
 * Reads a credentials file. Like ssh with a private key, it refuses one that group or others may
 * read: a password anyone on the machine can read is not a credential.
 */
export function readCredentialsFile(path: string, fallbackUrl?: string): NatsCredentials {
  let text: string;
  try {
    const mode = statSync(path).mode & 0o777;
    if (mode & 0o077) throw new TrellisError('E_CONFIG', `NATS credentials file ${path} is readable by others (mode ${mode.toString(8)}): chmod 600 it`);
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if (err instanceof TrellisError) throw err;
    throw new TrellisError('E_CONFIG', `cannot read NATS credentials file ${path}: ${errorMessage(err)}`, { cause: err });
  }
  let parsed: z.infer<typeof fileSchema>;
  try {
    parsed = fileSchema.parse(JSON.parse(text));
  } catch (err) {
    throw new TrellisError('E_CONFIG', `NATS credentials file ${path} is not valid: ${errorMessage(err)}`, { cause: err });
  }
  const url = parsed.url ?? fallbackUrl;
  if (!url) throw new TrellisError('E_CONFIG', `NATS credentials file ${path} has no url`);
  return { url, user: parsed.user, password: parsed.password, inboxPrefix: parsed.inbox_prefix, ...(parsed.ca_file ? { caFile: parsed.ca_file } : {}) };
}

/** nats.js connection options for a server, with credentials when there are some. */
export function natsConnectionOptions(servers: string | string[], credentials?: NatsCredentials): ConnectionOptions {
  if (!credentials) return { servers };
  return {
    servers,
    user: credentials.user,
    pass: credentials.password,
    inboxPrefix: credentials.inboxPrefix,
    ...(credentials.caFile ? { tls: { caFile: credentials.caFile } } : {}),
  };
}

/** A random password (192 bits, URL-safe: it also goes into `nats-leaf://user:pass@host` URLs). */
export const newPassword = () => randomBytes(24).toString('base64url');

/**
 * What nats-server's configuration holds instead of the password: a bcrypt hash, so reading a
 * server's config file does not hand out the credentials of every datacenter.
 */
export const passwordHash = (password: string) => bcrypt.hashSync(password, 10);

/** A user with a fresh password: its spec for nats-server's config (hash only) and the password for its credentials file. */
export interface IssuedUser {
  readonly spec: NatsUserSpec;
  readonly password: string;
}

export function issueUser(user: string, permissions: NatsUserSpec['permissions']): IssuedUser {
  const password = newPassword();
  return { password, spec: { user, passwordHash: passwordHash(password), permissions } };
}
