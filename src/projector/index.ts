// The projector: an ordered consumer on the local stream that applies events to the view in
// batches, checkpoint in the same transaction, and halts (never skips) on anything it cannot apply.
export { createProjector, type Projector, type ProjectorDeps, type ProjectorStatus } from './projector.js';
