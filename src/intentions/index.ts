// Intentions as Consul defines them: input decoding, validation, precedence and order, the write
// decisions, match, check and authorize (pure functions), and the service that applies writes.
export { parseIntentionBody, type IntentionInput } from './input.js';
export { validateIntention, intentionProblems, multierrorText, META_KEY_MAX_LENGTH, META_VALUE_MAX_LENGTH, META_MAX_KEY_PAIRS } from './validate.js';
export { intentionPrecedence, compareIntentions, sortIntentions, type IntentionPair } from './precedence.js';
export { parseIntentionName, parseIntentionId, DEFAULT_NAMESPACE, WILDCARD, type IntentionName } from './names.js';
export { decideCreate, decideUpdate, decideUpsertExact, decideDelete, decideDeleteExact, type DecideContext } from './decide.js';
export { decideIntention, intentionCheck, authorize, type IntentionLookup, type AuthorizeResult } from './authorize.js';
export { parseSpiffeId, serviceSpiffeUri, type SpiffeId, type SpiffeServiceId, type SpiffeSigningId } from './spiffe.js';
export { matchIntentions } from './match.js';
export { toConsulIntention, goTime } from './consul-json.js';
export { describeIntention } from './describe.js';
export { createIntentionService, parseForwardedWrite, type IntentionService, type IntentionWrite, type IntentionWriteResult, type IntentionServiceDeps } from './service.js';
