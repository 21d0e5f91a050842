import { createHash } from 'node:crypto';
import { encodeEvent } from './codec.js';
import type { TrellisEvent } from './types.js';

/** The `prev` of the first event: no event came before it. */
export const GENESIS_PREV = '0'.repeat(64);

/** The link to an event: the SHA-256 (hex) of its envelope exactly as the stream stores it. */
export function eventHash(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** The event with its link to the previous one, encoded, and the hash the next event links to. */
export function chainEvent(event: TrellisEvent, prev: string): { readonly event: TrellisEvent; readonly bytes: Uint8Array; readonly hash: string } {
  const linked = { ...event, prev } as TrellisEvent;
  const bytes = encodeEvent(linked);
  return { event: linked, bytes, hash: eventHash(bytes) };
}

/** Why event `seq` does not link to the one before it (undefined: it does). */
export function chainBreak(seq: number, event: TrellisEvent, expectedPrev: string): string | undefined {
  if (event.prev === undefined) return `event ${seq} carries no link to the previous event (prev): the log is not tamper-evident from here`;
  if (event.prev !== expectedPrev) return `hash chain broken at event ${seq}: it links to ${event.prev.slice(0, 16)}…, but event ${seq - 1} hashes to ${expectedPrev.slice(0, 16)}…`;
  return undefined;
}
