// The JetStream side of the log: stream definitions loaded from streams/, idempotent stream and
// mirror creation, and the primary's append with an expected last sequence.
export { loadStreamDefinition, eventsStreamDefinition, eventsMirrorDefinition, incompatibleFields, type StreamDefinition } from './stream-definitions.js';
export { ensureStream, streamInfo } from './streams.js';
export { createEventLog, type EventLog, type AppendOptions, type AppendResult } from './event-log.js';
export { createWriter, type Writer, type WriterState, type WriterView, type Decision, type WriteOutcome, type WriterDeps } from './writer.js';
export { readEvents, type FeedEvent } from './reader.js';
