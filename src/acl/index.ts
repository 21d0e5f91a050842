// ACLs, Consul-compatible subset: tokens and policies (primary-owned events, secrets hashed), the
// rule language for the resources trellis has, and an authorizer per request resolved locally.
export { parseRules, mergeRules, emptyRules, type Rules, type AccessLevel, type ServiceRule } from './rules.js';
export { allowAll, manageAll, rulesAuthorizer, permissionDenied, type Authorizer, type Resource } from './authorizer.js';
export {
  createAclResolver,
  secretHash,
  GLOBAL_MANAGEMENT_ID,
  GLOBAL_MANAGEMENT_POLICY,
  GLOBAL_MANAGEMENT_RULES,
  ANONYMOUS_ACCESSOR_ID,
  ANONYMOUS_TOKEN,
  type AclResolver,
  type AclSettings,
  type AclReader,
} from './resolver.js';
export {
  decidePolicySet,
  decidePolicyDelete,
  decideTokenSet,
  decideTokenDelete,
  bootstrapInitialManagement,
  toConsulPolicy,
  toConsulToken,
  type AclWriteContext,
  type TokenSetResult,
} from './service.js';
