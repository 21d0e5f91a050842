import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { GLOBAL_MANAGEMENT_RULES, mergeRules, parseRules, rulesAuthorizer, type AccessLevel } from '../../../src/acl/index.js';
import { isTrellisError } from '../../../src/common/index.js';

const authz = (rules: string, defaultAllow = false) => rulesAuthorizer('acc', mergeRules([parseRules(rules)]), defaultAllow);

describe('ACL rules (Consul rule language, the resources trellis has)', () => {
  it('parses HCL blocks, prefixes, top-level rules and comments', () => {
    const r = parseRules(`
      # the web team
      service "web" { policy = "write" intentions = "read" }
      service_prefix "api-" {
        policy = "read"   // reads only
      }
      /* operators may look */
      operator = "read"
      node_prefix "" { policy = "read" }
      query "q1" { policy = "write" }
    `);
    assert.deepEqual(r.service.exact.get('web'), { policy: 'write', intentions: 'read' });
    assert.deepEqual(r.service.prefix.get('api-'), { policy: 'read', intentions: 'read' }, 'intentions default to read with a read or write policy');
    assert.equal(r.operator, 'read');
    assert.equal(r.node.prefix.get(''), 'read');
    assert.equal(r.query.exact.get('q1'), 'write');
  });

  it('parses the JSON form the same as HCL', () => {
    const hcl = parseRules('service "db" { policy = "deny" }\noperator = "write"');
    const json = parseRules('{"service": {"db": {"policy": "deny"}}, "operator": "write"}');
    assert.deepEqual(json, hcl);
    assert.deepEqual(hcl.service.exact.get('db'), { policy: 'deny', intentions: 'deny' }, 'a denied service denies its intentions too');
  });

  it('refuses what it does not understand, with Consul\'s prefix', () => {
    for (const bad of ['service "web" { policy = "admin" }', 'widget "x" { policy = "read" }', 'service "web" { policy = "read" colour = "red" }', 'service "web" { policy = "read"', 'operator = "sometimes"', 'service "web {', '{"service": 1}']) {
      assert.throws(() => parseRules(bad), (err) => isTrellisError(err, 'E_VALIDATION') && err.message.startsWith('Failed to parse ACL rules: '), bad);
    }
  });

  it('law: any rule set rendered as HCL and as JSON parses to the same rules', () => {
    const name = fc.stringMatching(/^[a-z0-9-]{0,12}$/);
    const lvl = fc.constantFrom<AccessLevel>('read', 'write', 'deny');
    const block = fc.record({ kind: fc.constantFrom('service', 'service_prefix', 'node', 'node_prefix', 'query', 'query_prefix'), name, policy: lvl, intentions: fc.option(lvl, { nil: undefined }) });
    fc.assert(
      fc.property(fc.array(block, { maxLength: 12 }), fc.option(lvl, { nil: undefined }), (blocks, operator) => {
        const hcl: string[] = [];
        const json: Record<string, Record<string, Record<string, string>> | string> = {};
        const seen = new Set<string>();
        for (const b of blocks) {
          if (seen.has(`${b.kind}/${b.name}`)) continue;
          seen.add(`${b.kind}/${b.name}`);
          const intentions = b.kind.startsWith('service') && b.intentions ? b.intentions : undefined;
          hcl.push(`${b.kind} ${JSON.stringify(b.name)} { policy = "${b.policy}"${intentions ? ` intentions = "${intentions}"` : ''} }`);
          const group = (json[b.kind] ??= {}) as Record<string, Record<string, string>>;
          group[b.name] = { policy: b.policy, ...(intentions ? { intentions } : {}) };
        }
        if (operator) {
          hcl.push(`operator = "${operator}"`);
          json.operator = operator;
        }
        assert.deepEqual(parseRules(hcl.join('\n')), parseRules(JSON.stringify(json)));
      }),
    );
  });
});

describe('ACL authorizer (Consul semantics)', () => {
  it('an exact rule beats a prefix, and the longest prefix wins', () => {
    const a = authz('service_prefix "" { policy = "read" }\nservice_prefix "web" { policy = "write" }\nservice "web-admin" { policy = "deny" }');
    assert.equal(a.allowed('service', 'write', 'web-frontend'), true);
    assert.equal(a.allowed('service', 'write', 'api'), false);
    assert.equal(a.allowed('service', 'read', 'api'), true);
    assert.equal(a.allowed('service', 'read', 'web-admin'), false);
  });

  it('intention writes need intentions = "write"; service write alone only reads intentions', () => {
    const a = authz('service "db" { policy = "write" }\nservice "api" { policy = "read" intentions = "write" }');
    assert.equal(a.allowed('intention', 'write', 'db'), false);
    assert.equal(a.allowed('intention', 'read', 'db'), true);
    assert.equal(a.allowed('intention', 'write', 'api'), true);
    assert.throws(() => a.require('intention', 'write', 'db'), (err) => isTrellisError(err, 'E_PERMISSION') && err.message === `Permission denied: token with AccessorID 'acc' lacks permission 'intention:write' on "db"`);
  });

  it('the default policy decides what no rule names, except ACL management, which always needs a rule', () => {
    const open = authz('', true);
    assert.equal(open.allowed('service', 'write', 'anything'), true);
    assert.equal(open.allowed('operator', 'write'), true);
    assert.equal(open.allowed('acl', 'read'), false);
    const closed = authz('', false);
    assert.equal(closed.allowed('service', 'read', 'anything'), false);
    assert.equal(closed.allowed('operator', 'read'), false);
    assert.equal(authz('operator = "read"').allowed('operator', 'write'), false);
    assert.equal(authz('acl = "write"').allowed('acl', 'read'), true);
  });

  it('merging a token\'s policies: deny wins over write, write over read', () => {
    const merged = rulesAuthorizer('acc', mergeRules([parseRules('service "db" { policy = "write" }'), parseRules('service "db" { policy = "deny" }')]), true);
    assert.equal(merged.allowed('service', 'read', 'db'), false);
    const upgraded = rulesAuthorizer('acc', mergeRules([parseRules('service "db" { policy = "read" }'), parseRules('service "db" { policy = "write" }')]), false);
    assert.equal(upgraded.allowed('service', 'write', 'db'), true);
  });

  it('global-management grants everything', () => {
    const a = authz(GLOBAL_MANAGEMENT_RULES);
    for (const [r, n] of [['service', 'x'], ['intention', 'y'], ['node', 'n'], ['query', 'q'], ['operator', undefined], ['acl', undefined]] as const) assert.equal(a.allowed(r, 'write', n), true, r);
  });
});
