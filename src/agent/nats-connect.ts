import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/nats-core';
import { TrellisError, errorMessage, type Logger } from '../common/index.js';

export interface NatsConnectOptions {
  readonly url: string;
  readonly name: string;
  readonly logger: Logger;
  /** How long start-up waits for the local nats-server before giving up. @default 30000 */
  readonly startupTimeoutMs?: number;
}

/**
 * Connects to this datacenter's nats-server, waiting (and saying so) while it is not up yet,
 * then reconnecting forever: an agent outlives restarts of its local server.
 */
export async function connectNats({ url, name, logger, startupTimeoutMs = 30_000 }: NatsConnectOptions): Promise<NatsConnection> {
  const deadline = Date.now() + startupTimeoutMs;
  let attempt = 0;
  for (;;) {
    try {
      const nc = await connect({ servers: url, name, maxReconnectAttempts: -1, reconnectTimeWait: 250, pingInterval: 10_000 });
      if (attempt > 0) logger.info({ url }, 'connected to NATS');
      const log = logger.child({ component: 'nats' });
      void (async () => {
        for await (const s of nc.status()) {
          if (s.type === 'disconnect' || s.type === 'reconnect') log.warn({ status: s.type, url }, 'NATS connection status');
        }
      })();
      return nc;
    } catch (err) {
      attempt++;
      if (Date.now() > deadline) {
        throw new TrellisError('E_UNAVAILABLE', `cannot reach NATS at ${url} after ${startupTimeoutMs} ms: ${errorMessage(err)}. Is this datacenter's nats-server running?`, {
          cause: err,
        });
      }
      if (attempt === 1 || attempt % 10 === 0) logger.warn({ url, err: errorMessage(err) }, 'waiting for NATS');
      await new Promise((r) => setTimeout(r, Math.min(1000, 100 * attempt)));
    }
  }
}
