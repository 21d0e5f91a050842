import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { startCluster, http, type TestCluster } from '../../helpers/cluster.js';
import { makeTempDir } from '../../helpers/temp.js';
import { ensureDevTls } from '../../../src/natsd/index.js';

/** GET over HTTPS with node:https (optionally presenting a client certificate); resolves status or the TLS error. */
function httpsGet(url: string, ca: string, client?: { cert: string; key: string }): Promise<number | string> {
  return new Promise((resolve) => {
    const req = httpsRequest(url, { ca, ...(client ?? {}), method: 'GET' }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
    req.end();
  });
}

describe('HTTP hardening: HTTPS with verify_incoming, per-client rate and connection limits, slow clients', () => {
  let cluster: TestCluster;
  const tls = ensureDevTls(join(makeTempDir('trellis-https-'), 'tls'));
  before(async () => {
    cluster = await startCluster({
      datacenters: ['dc1'],
      fileConfig: () => ({
        ports: { https: 0 },
        tls: { defaults: { ca_file: tls.caFile, cert_file: tls.certFile, key_file: tls.keyFile, verify_incoming: true } },
        limits: { http_requests_per_client: 2, http_max_conns_per_client: 4, http_request_timeout_ms: 500 },
      }),
    });
  });
  after(async () => {
    await cluster.stop();
  });

  it('serves the API over HTTPS; with verify_incoming a client without a certificate from the CA is refused', async () => {
    const url = `${cluster.agent('dc1').httpsUrl}/v1/status/leader`;
    assert.match(url, /^https:\/\/127\.0\.0\.1:\d+\//);
    const ca = readFileSync(tls.caFile, 'utf8');
    assert.equal(await httpsGet(url, ca, { cert: readFileSync(tls.certFile, 'utf8'), key: readFileSync(tls.keyFile, 'utf8') }), 200);
    const refused = await httpsGet(url, ca);
    assert.notEqual(refused, 200, 'no client certificate, no answer');
    assert.equal(typeof refused, 'string', `a TLS error (${refused})`);
  });

  it('a client over its request rate gets 429 with Retry-After, and others are not affected', async () => {
    await new Promise((r) => setTimeout(r, 2100)); // a full bucket
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    let text = '';
    for (let i = 0; i < 25; i++) {
      const r = await http(cluster.agent('dc1').httpUrl, 'GET', '/v1/status/leader');
      statuses.push(r.status);
      if (r.status === 429) {
        retryAfter = r.headers.get('Retry-After');
        text = r.text;
      }
    }
    // 2/s with a burst of 4: 25 requests cannot all pass unless they take over 10 s (a slow machine
    // refills the bucket while they run, so only the burst is certain).
    assert.ok(statuses.slice(0, 4).every((s) => s === 200), `the burst (2 s worth) passes: ${statuses.join(',')}`);
    assert.ok(statuses.includes(429), statuses.join(','));
    assert.match(retryAfter ?? '', /^\d+$/);
    assert.match(text, /^Too many requests from 127\.0\.0\.1: the limit is 2 per second; retry after \d+ s$/);
    await new Promise((r) => setTimeout(r, 1200));
    assert.equal((await http(cluster.agent('dc1').httpUrl, 'GET', '/v1/status/leader')).status, 200, 'and it refills');
  });

  it('a client that sends its request too slowly is cut off (408), and one holding too many connections has the extra ones closed', async () => {
    const { port } = new URL(cluster.agent('dc1').httpUrl);
    const slow = connect({ host: '127.0.0.1', port: Number(port) });
    let answer = '';
    slow.on('data', (d) => (answer += d.toString()));
    slow.write('PUT /v1/connect/intentions/exact?source=a&destination=b HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"Act');
    const started = Date.now();
    await new Promise((r) => slow.once('close', r));
    assert.ok(Date.now() - started < 5000, 'closed within the request timeout (plus the server check interval)');
    assert.match(answer, /^HTTP\/1\.1 408/);

    const sockets: Socket[] = [];
    const closed: number[] = [];
    for (let i = 0; i < 6; i++) {
      const s = connect({ host: '127.0.0.1', port: Number(port) });
      s.on('close', () => closed.push(i));
      s.on('error', () => undefined);
      sockets.push(s);
      await new Promise((r) => s.once('connect', r));
    }
    await new Promise((r) => setTimeout(r, 300));
    // (fetch's keep-alive connections from the tests above may still count against the same address)
    assert.ok(closed.length >= 2 && closed.includes(4) && closed.includes(5), `connections beyond 4 are closed at once (closed: ${closed.join(',')})`);
    for (const s of sockets) s.destroy();
  });
});
