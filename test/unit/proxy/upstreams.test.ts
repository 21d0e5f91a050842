import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { identityMismatch, parseHostPort, parseUpstreamFlag, uriSans } from '../../../src/proxy/index.js';
import { isTrellisError } from '../../../src/common/index.js';

describe('proxy flags and identities', () => {
  it('reads -upstream as Consul does: NAME:PORT, NAME:HOST:PORT, NAME.query:PORT', () => {
    assert.deepEqual(parseUpstreamFlag('nginx:80', 'dc2'), { destinationType: 'service', destinationName: 'nginx', datacenter: 'dc2', localBindAddress: '127.0.0.1', localBindPort: 80 });
    assert.deepEqual(parseUpstreamFlag('db:0.0.0.0:8181'), { destinationType: 'service', destinationName: 'db', datacenter: '', localBindAddress: '0.0.0.0', localBindPort: 8181 });
    assert.deepEqual(parseUpstreamFlag('payments.query:8282'), { destinationType: 'prepared_query', destinationName: 'payments', datacenter: '', localBindAddress: '127.0.0.1', localBindPort: 8282 });
    assert.equal(parseUpstreamFlag('db:[::1]:9000').localBindAddress, '::1');
    for (const bad of ['nginx', 'nginx:', ':80', 'nginx:http', 'nginx:70000', 'nginx:my-host:80', 'bad name:80']) {
      assert.throws(() => parseUpstreamFlag(bad), (err) => isTrellisError(err, 'E_VALIDATION') && err.message.startsWith(`Invalid upstream "${bad}"`), bad);
    }
  });

  it('reads HOST:PORT for -listen and -service-addr', () => {
    assert.deepEqual(parseHostPort('127.0.0.1:8080', '-service-addr'), { host: '127.0.0.1', port: 8080 });
    assert.deepEqual(parseHostPort('[::]:21000', '-listen'), { host: '::', port: 21000 });
    assert.throws(() => parseHostPort('8080', '-listen'), /-listen must be HOST:PORT/);
  });

  it('accepts exactly the expected service\'s SPIFFE ID in the trust domain, from any datacenter', () => {
    const td = '11111111-2222-3333-4444-555555555555.consul';
    assert.deepEqual(uriSans(`URI:spiffe://${td}/ns/default/dc/dc2/svc/web, DNS:web`), [`spiffe://${td}/ns/default/dc/dc2/svc/web`]);
    assert.equal(identityMismatch(`URI:spiffe://${td}/ns/default/dc/dc2/svc/web`, 'web', td), undefined);
    assert.equal(identityMismatch(`URI:spiffe://${td.toUpperCase()}/ns/default/dc/dc9/svc/web`, 'web', td), undefined);
    assert.match(identityMismatch(`URI:spiffe://${td}/ns/default/dc/dc2/svc/api`, 'web', td) ?? '', /identifies service api, not web/);
    assert.match(identityMismatch(`URI:spiffe://other.consul/ns/default/dc/dc2/svc/web`, 'web', td) ?? '', /trust domain other\.consul/);
    assert.match(identityMismatch(`URI:spiffe://${td}`, 'web', td) ?? '', /not a service identity/);
    assert.match(identityMismatch('DNS:web', 'web', td) ?? '', /0 URI SANs/);
    assert.match(identityMismatch(`URI:spiffe://${td}/ns/default/dc/dc2/svc/web, URI:spiffe://${td}/ns/default/dc/dc2/svc/api`, 'web', td) ?? '', /2 URI SANs/);
  });
});
