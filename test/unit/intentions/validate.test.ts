import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { intentionProblems, multierrorText, validateIntention, parseIntentionBody, parseIntentionName, parseIntentionId } from '../../../src/intentions/index.js';
import { isTrellisError } from '../../../src/common/index.js';

const valid = {
  SourceNS: 'default',
  SourceName: 'web',
  DestinationNS: 'default',
  DestinationName: 'db',
  SourceType: 'consul',
  Action: 'allow',
  Description: '',
  Meta: {},
};

describe('validation (Consul Intention.Validate)', () => {
  it('accepts a valid intention and whole-segment wildcards', () => {
    assert.deepEqual(intentionProblems(valid), []);
    assert.deepEqual(intentionProblems({ ...valid, SourceName: '*' }), []);
    assert.deepEqual(intentionProblems({ ...valid, SourceNS: '*', SourceName: '*', DestinationName: '*' }), []);
  });

  // Each row: a change to a valid intention and the message Consul gives for it.
  const cases: Array<[string, Partial<typeof valid> & { Meta?: Record<string, string> }, string]> = [
    ['missing source name', { SourceName: '' }, 'SourceName must be set'],
    ['missing destination name', { DestinationName: '' }, 'DestinationName must be set'],
    ['missing source namespace', { SourceNS: '' }, 'SourceNS must be set'],
    ['partial source wildcard', { SourceName: 'fo*' }, "SourceName: wildcard character '*' cannot be used with partial values"],
    ['partial destination wildcard', { DestinationName: '*db' }, "DestinationName: wildcard character '*' cannot be used with partial values"],
    ['partial namespace wildcard', { SourceNS: 'fo*' }, "SourceNS: wildcard character '*' cannot be used with partial values"],
    ['exact name after wildcard namespace', { SourceNS: '*', SourceName: 'web' }, 'SourceName: exact value cannot follow wildcard namespace'],
    ['description too long', { Description: 'x'.repeat(513) }, 'Description exceeds maximum length 512'],
    ['bad action', { Action: 'maybe' }, "Action must be set to 'allow' or 'deny'"],
    ['empty action', { Action: '' }, "Action must be set to 'allow' or 'deny'"],
    ['bad source type', { SourceType: 'external' }, "SourceType must be set to 'consul'"],
    ['meta key too long', { Meta: { ['k'.repeat(129)]: 'v' } }, `Meta key "${'k'.repeat(129)}" exceeds maximum length 128`],
    ['meta value too long', { Meta: { k: 'v'.repeat(513) } }, 'Meta value for key "k" exceeds maximum length 512'],
    ['too many meta pairs', { Meta: Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, 'v'])) }, 'Meta exceeds maximum element count 64'],
  ];
  for (const [name, change, message] of cases) {
    it(`refuses ${name}: "${message}"`, () => {
      assert.deepEqual(intentionProblems({ ...valid, ...change }), [message]);
      assert.throws(() => validateIntention({ ...valid, ...change }), (err) => isTrellisError(err, 'E_VALIDATION') && err.message === multierrorText([message]));
    });
  }

  it('accepts the limits themselves (512-byte description, 64 meta pairs)', () => {
    const meta = Object.fromEntries(Array.from({ length: 64 }, (_, i) => [`k${i}`, 'v'.repeat(512)]));
    assert.deepEqual(intentionProblems({ ...valid, Description: 'x'.repeat(512), Meta: meta }), []);
  });

  it('reports every problem at once, in Go multierror form', () => {
    assert.equal(
      multierrorText(intentionProblems({ ...valid, SourceName: '', Action: 'x' })),
      "2 errors occurred:\n\t* SourceName must be set\n\t* Action must be set to 'allow' or 'deny'\n\n",
    );
  });
});

describe('request decoding', () => {
  it('takes known fields, ignores unknown ones', () => {
    const input = parseIntentionBody({ SourceName: 'web', DestinationName: 'db', Action: 'deny', Meta: { a: 'b' }, Whatever: [1] });
    assert.equal(input.SourceName, 'web');
    assert.equal(input.Action, 'deny');
    assert.deepEqual(input.Meta, { a: 'b' });
  });

  it('refuses a known field of the wrong JSON type with Go\'s message', () => {
    assert.throws(
      () => parseIntentionBody({ SourceName: 5 }),
      (err) => isTrellisError(err, 'E_VALIDATION') && err.message === 'Request decode failed: json: cannot unmarshal number into Go struct field Intention.SourceName of type string',
    );
    assert.throws(() => parseIntentionBody({ Meta: { a: 1 } }), /Intention\.Meta of type map\[string\]string/);
    assert.throws(() => parseIntentionBody([1]), /cannot unmarshal array into Go value of type structs.Intention/);
    assert.throws(() => parseIntentionBody({ Precedence: 'high' }), /Intention\.Precedence of type int/);
  });

  it('parses name and namespace/name query parameters as Consul does', () => {
    assert.deepEqual(parseIntentionName('web', 'source'), { namespace: 'default', name: 'web' });
    assert.deepEqual(parseIntentionName('default/web', 'source'), { namespace: 'default', name: 'web' });
    assert.throws(() => parseIntentionName('a/b/c', 'source'), /source "a\/b\/c" is invalid: input can contain at most one '\/'/);
    assert.throws(() => parseIntentionName('peer:x', 'destination'), /cannot specify a peer here/);
  });

  it('accepts UUIDs and refuses anything else as an ID', () => {
    assert.equal(parseIntentionId('E9EBC19F-D481-42B1-4871-4D298D3ACD5C'), 'e9ebc19f-d481-42b1-4871-4d298d3acd5c');
    assert.throws(() => parseIntentionId('abc'), (err) => isTrellisError(err, 'E_VALIDATION') && /wrong length/.test(err.message));
    assert.throws(() => parseIntentionId('zzzzzzzz-d481-42b1-4871-4d298d3acd5c'), /improperly formatted/);
  });
});
