import type { JetStreamManager, StreamInfo } from '@nats-io/jetstream';
import { JetStreamApiError } from '@nats-io/jetstream';
import { TrellisError, type Logger } from '../common/index.js';
import { incompatibleFields, type StreamDefinition } from './stream-definitions.js';

const STREAM_NOT_FOUND = 10059;

async function streamInfo(jsm: JetStreamManager, name: string): Promise<StreamInfo | undefined> {
  try {
    return await jsm.streams.info(name);
  } catch (err) {
    if (err instanceof JetStreamApiError && err.code === STREAM_NOT_FOUND) return undefined;
    throw err;
  }
}

/**
 * Creates the stream from its definition, or checks that an existing one is compatible.
 * Idempotent; an incompatible existing stream is a start-up error, never a silent change.
 */
export async function ensureStream(jsm: JetStreamManager, definition: StreamDefinition, logger: Logger): Promise<StreamInfo> {
  const existing = await streamInfo(jsm, definition.name);
  if (existing) {
    const differing = incompatibleFields(definition, existing.config);
    if (differing.length > 0) {
      throw new TrellisError(
        'E_STREAM_INCOMPATIBLE',
        `stream ${definition.name} exists with an incompatible configuration: ${differing.join('; ')}. ` +
          'Fix or remove the stream by hand (it is the audit log: back it up first); trellis will not change it.',
      );
    }
    logger.debug({ stream: definition.name, lastSeq: existing.state.last_seq }, 'stream present');
    return existing;
  }
  const created = await jsm.streams.add(definition as unknown as Parameters<typeof jsm.streams.add>[0]);
  logger.info({ stream: definition.name, mirror: definition.mirror?.name }, 'stream created');
  return created;
}

export { streamInfo };
