import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/nats-core';
import { TrellisError, errorMessage, type Logger } from '../common/index.js';
import { natsConnectionOptions, readCredentialsFile } from '../natsd/credentials.js';

export interface NatsConnectOptions {
  readonly url: string;
  readonly name: string;
  readonly logger: Logger;
  /** A credentials file (user, password, inbox prefix, CA); read once, refused when others may read it. */
  readonly credentialsFile?: string | undefined;
  /** How long start-up waits for the local nats-server before giving up. @default forever */
  readonly startupTimeoutMs?: number;
}

/**
 * Connects to this datacenter's nats-server, waiting (and saying so) while it is not up yet,
 * then reconnecting forever: an agent outlives restarts of its local server.
 */
export async function connectNats({ url, name, logger, credentialsFile, startupTimeoutMs = Number.POSITIVE_INFINITY }: NatsConnectOptions): Promise<NatsConnection> {
  const deadline = Date.now() + startupTimeoutMs;
  const credentials = credentialsFile ? readCredentialsFile(credentialsFile, url) : undefined;
  let attempt = 0;
  for (;;) {
    try {
      const nc = await connect({ ...natsConnectionOptions(url, credentials), name, maxReconnectAttempts: -1, reconnectTimeWait: 250, pingInterval: 10_000 });
      if (attempt > 0) logger.info({ url }, 'connected to NATS');
      const log = logger.child({ component: 'nats' });
      void (async () => {
        for await (const s of nc.status()) {
          if (s.type === 'disconnect' || s.type === 'reconnect') log.warn({ status: s.type, url }, 'NATS connection status');
        }
      })();
      return nc;
    } catch (err) {
      // Wrong credentials or a certificate the CA does not vouch for will not fix themselves.
      if (/authorization violation|certificate|self.signed|TLS/i.test(errorMessage(err))) {
        throw new TrellisError('E_UNAVAILABLE', `NATS at ${url} refused this agent: ${errorMessage(err)}. Check nats.credentials_file and the CA it names.`, { cause: err });
      }
      attempt++;
      if (Date.now() > deadline) {
        throw new TrellisError('E_UNAVAILABLE', `cannot reach NATS at ${url} after ${startupTimeoutMs} ms: ${errorMessage(err)}. Is this datacenter's nats-server running?`, {
          cause: err,
        });
      }
      // A datacenter's agent may start before its nats-server (or outlive it at boot): it waits and says so.
      if (attempt === 1 || attempt % 10 === 0) logger.warn({ url, err: errorMessage(err), waitedMs: attempt > 1 ? Date.now() - (deadline - startupTimeoutMs) : 0 }, 'waiting for NATS');
      await new Promise((r) => setTimeout(r, Math.min(1000, 100 * attempt)));
    }
  }
}
