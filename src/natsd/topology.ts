import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../common/index.js';
import { issueUser, writeCredentialsFile, type IssuedUser, type NatsCredentials } from './credentials.js';
import { ensureDevTls, type TlsFiles } from './dev-tls.js';
import { agentPermissions, inboxPrefixFor, leafPermissions, leafUser, readerPermissions, readerUser } from './permissions.js';
import { freePort, startNatsServer, waitForLeafnodes, type RunningNatsServer } from './server.js';

/** A credential and the 0600 file it was written to. */
export interface IssuedCredentials extends NatsCredentials {
  readonly file: string;
}

/** Who may connect to one datacenter's nats-server. */
export interface DatacenterAccess {
  /** The agent's identity (RPC under its own name, the local JetStream). */
  readonly agent: IssuedCredentials;
  /** Read-only tools: audit, replay, event subscribers. */
  readonly reader: IssuedCredentials;
}

export interface DatacenterServers {
  readonly primary: string;
  readonly servers: ReadonlyMap<string, RunningNatsServer>;
  readonly access: ReadonlyMap<string, DatacenterAccess>;
  readonly tls: TlsFiles;
  stop(): Promise<void>;
}

export interface StartDatacenterServersOptions {
  /** The first is the primary (the hub); the others join it as leafnodes. */
  readonly datacenters: readonly string[];
  readonly baseDir: string;
  readonly bin: string;
  readonly logger?: Logger;
}

/**
 * One nats-server per datacenter, JetStream domain = datacenter name, secondaries leafnodes of the
 * hub; TLS on every client and leafnode connection, and a user per role with least privilege
 * (see permissions.ts). Credentials are generated here and written 0600 under `<baseDir>/<dc>/credentials`.
 */
export async function startDatacenterServers({ datacenters, baseDir, bin, logger }: StartDatacenterServersOptions): Promise<DatacenterServers> {
  const [primary, ...secondaries] = datacenters;
  if (!primary) throw new Error('at least one datacenter is needed');
  mkdirSync(baseDir, { recursive: true, mode: 0o700 });
  const tls = ensureDevTls(join(baseDir, 'tls'));
  const servers = new Map<string, RunningNatsServer>();
  const access = new Map<string, DatacenterAccess>();
  const stop = async () => {
    await Promise.all([...servers.values()].map((s) => s.stop()));
  };

  const clientUsers = new Map<string, { agent: IssuedUser; reader: IssuedUser }>();
  for (const dc of datacenters) {
    clientUsers.set(dc, { agent: issueUser(dc, agentPermissions(dc, primary)), reader: issueUser(readerUser(dc), readerPermissions(dc, primary)) });
  }
  const leafUsers = new Map(secondaries.map((dc) => [dc, issueUser(leafUser(dc), leafPermissions(dc, primary, datacenters))]));

  const record = (dc: string, url: string) => {
    const users = clientUsers.get(dc)!;
    const dir = join(baseDir, dc, 'credentials');
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const write = (role: 'agent' | 'reader', issued: IssuedUser): IssuedCredentials => {
      const creds: IssuedCredentials = { file: join(dir, `${role}.json`), url, user: issued.spec.user, password: issued.password, inboxPrefix: inboxPrefixFor(issued.spec.user), caFile: tls.caFile };
      writeCredentialsFile(creds.file, creds);
      return creds;
    };
    access.set(dc, { agent: write('agent', users.agent), reader: write('reader', users.reader) });
  };
  const usersOf = (dc: string) => {
    const u = clientUsers.get(dc)!;
    return [u.agent.spec, u.reader.spec];
  };

  try {
    const leafPort = await freePort();
    const hub = await startNatsServer({
      spec: {
        name: primary,
        domain: primary,
        clientPort: await freePort(),
        httpPort: await freePort(),
        storeDir: join(baseDir, primary, 'jetstream'),
        leafListenPort: leafPort,
        users: usersOf(primary),
        leafUsers: [...leafUsers.values()].map((u) => u.spec),
        tls,
      },
      dir: join(baseDir, primary),
      bin,
      ...(logger ? { logger } : {}),
    });
    servers.set(primary, hub);
    record(primary, hub.url);
    await Promise.all(
      secondaries.map(async (dc) => {
        const leaf = leafUsers.get(dc)!;
        const server = await startNatsServer({
          spec: {
            name: dc,
            domain: dc,
            clientPort: await freePort(),
            httpPort: await freePort(),
            storeDir: join(baseDir, dc, 'jetstream'),
            leafRemotes: [`nats-leaf://${leaf.spec.user}:${leaf.password}@127.0.0.1:${leafPort}`],
            users: usersOf(dc),
            tls,
          },
          dir: join(baseDir, dc),
          bin,
          ...(logger ? { logger } : {}),
        });
        servers.set(dc, server);
        record(dc, server.url);
      }),
    );
    await waitForLeafnodes(hub.monitorUrl, secondaries.length);
  } catch (err) {
    await stop();
    throw err;
  }
  return { primary, servers, access, tls, stop };
}
