// The subscriber SDK (`trellis/subscribe`): typed, decoded events from a datacenter's event log,
// durable by name, at least once, with backpressure. See examples/subscribe.ts.
export { subscribe, type SubscribeOptions, type Subscription, type SubscribedEvent } from './subscribe.js';
export type { TrellisEvent, EventType } from '../events/index.js';
