import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderNatsConfig, type NatsUserSpec } from './config.js';
import { issueUser, writeCredentialsFile } from './credentials.js';
import { agentPermissions, inboxPrefixFor, leafPermissions, leafUser, readerPermissions, readerUser } from './permissions.js';
import type { TlsFiles } from './dev-tls.js';

export interface DeploymentSpec {
  /** The first is the primary (the hub). */
  readonly datacenters: readonly string[];
  /** How a datacenter's agents and leafnodes reach its nats-server: `<dc>` → host name. */
  readonly hostOf: (dc: string) => string;
  /** Where the TLS files will be on every server (the operator's own CA and certificates). */
  readonly tls: TlsFiles;
  readonly out: string;
  /** @default '/var/lib/nats' */
  readonly storeDir?: string;
}

/**
 * Writes, per datacenter, the nats-server configuration trellis dev runs with, for real hosts:
 * `<out>/<dc>/nats-server.conf` (bcrypt hashes only) and the credentials its agent, its read-only
 * tools and (for a secondary) its leafnode use, all 0600 in 0700 directories. Same permissions as
 * `trellis dev` (permissions.ts); fresh random passwords on every run.
 */
export function writeDeployment(spec: DeploymentSpec): string[] {
  const [primary, ...secondaries] = spec.datacenters;
  if (!primary) throw new Error('at least one datacenter is needed');
  const storeDir = spec.storeDir ?? '/var/lib/nats';
  const written: string[] = [];
  const leaf = new Map(secondaries.map((dc) => [dc, issueUser(leafUser(dc), leafPermissions(dc, primary, spec.datacenters))]));
  const users = (dc: string, dir: string): NatsUserSpec[] =>
    (
      [
        ['agent', dc, agentPermissions(dc, primary)],
        ['reader', readerUser(dc), readerPermissions(dc, primary)],
      ] as const
    ).map(([role, user, permissions]) => {
      const issued = issueUser(user, permissions);
      const file = join(dir, `${role}-credentials.json`);
      writeCredentialsFile(file, { url: `nats://${spec.hostOf(dc)}:4222`, user, password: issued.password, inboxPrefix: inboxPrefixFor(user), caFile: spec.tls.caFile });
      written.push(file);
      return issued.spec;
    });
  for (const dc of spec.datacenters) {
    const dir = join(spec.out, dc);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const isPrimary = dc === primary;
    const config = renderNatsConfig({
      name: dc,
      domain: dc,
      host: '0.0.0.0',
      clientPort: 4222,
      httpPort: 8222,
      storeDir,
      pingInterval: '10s',
      users: users(dc, dir),
      tls: spec.tls,
      ...(isPrimary
        ? { leafListenPort: 7422, leafAdvertise: `${spec.hostOf(dc)}:7422`, leafUsers: secondaries.map((s) => leaf.get(s)!.spec) }
        : { leafRemotes: [`nats-leaf://${leafUser(dc)}:${leaf.get(dc)!.password}@${spec.hostOf(primary)}:7422`] }),
    });
    const file = join(dir, 'nats-server.conf');
    writeFileSync(file, config, { mode: 0o600 });
    written.push(file);
  }
  return written;
}
