// A subscriber that prints every intention change of a datacenter, resuming where it left off.
//
//   npm run dev                                  # in one terminal
//   npx tsx examples/subscribe.ts dc2            # in another: dc2's mirror, from the start
//   curl -X PUT 'http://127.0.0.1:8500/v1/connect/intentions/exact?source=web&destination=db' -d '{"Action":"deny"}'
//
// In an application: import { subscribe } from 'trellis/subscribe'.
import { readFileSync } from 'node:fs';
import { subscribe } from '../src/subscribe/index.js';

const datacenter = process.argv[2] ?? 'dc1';
// trellis dev writes every datacenter's NATS address here (another --data-dir: set TRELLIS_DEV_JSON).
const manifest = process.env.TRELLIS_DEV_JSON ?? '.trellis/dev/dev.json';
const dev = JSON.parse(readFileSync(manifest, 'utf8')) as { datacenters: Array<{ name: string; nats: string; natsCreds: string }> };
const dc = dev.datacenters.find((d) => d.name === datacenter);
if (!dc) throw new Error(`no datacenter ${datacenter} in ${manifest}: is \`npm run dev\` running?`);
// NATS asks for a user: the datacenter's read-only credentials (TLS CA included) from trellis dev.
const { nats: servers, natsCreds: credentials } = dc;

const subscription = await subscribe(
  { servers, credentials, datacenter, name: 'example-printer', from: 'start', types: ['IntentionCreated', 'IntentionUpdated', 'IntentionDeleted'] },
  (e) => {
    const subject = 'intention' in e.data ? `${e.data.intention.SourceName} => ${e.data.intention.DestinationName} (${e.data.intention.Action})` : 'id' in e.data ? e.data.id : '';
    console.log(`#${e.seq} ${e.time.toISOString()} ${e.type} ${subject} by ${e.event.by}`);
  },
);
process.once('SIGINT', () => void subscription.stop());
await subscription.done;
