import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import Fastify from 'fastify';
import { startCluster, type TestCluster } from '../../helpers/cluster.js';
import { makeTempDir } from '../../helpers/temp.js';
import { registerUiRoutes } from '../../../src/api/routes/ui.js';
import { packageRoot } from '../../../src/common/index.js';

describe('the web UI is served by every agent at /ui/', () => {
  let cluster: TestCluster;
  before(async () => {
    execFileSync(process.execPath, [join(packageRoot(), 'scripts', 'build-ui.mjs')], { stdio: 'ignore' });
    cluster = await startCluster({ datacenters: ['dc1', 'dc2'] });
  });
  after(async () => {
    await cluster.stop();
  });

  it('serves the page, its script and stylesheet from the agent itself (no CDN), with a strict CSP', async () => {
    for (const dc of ['dc1', 'dc2']) {
      const base = cluster.agent(dc).httpUrl;
      const root = await fetch(`${base}/`, { redirect: 'manual' });
      assert.equal(root.status, 302);
      assert.equal(root.headers.get('location'), '/ui/');
      const bare = await fetch(`${base}/ui`, { redirect: 'manual' });
      assert.equal(bare.headers.get('location'), '/ui/', '/ui without the slash goes to /ui/ (relative URLs)');
      const page = await fetch(`${base}/ui/`);
      assert.equal(page.status, 200);
      assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
      assert.match(page.headers.get('content-security-policy') ?? '', /default-src 'self'; script-src 'self'/);
      const html = await page.text();
      assert.match(html, /<script type="module" src="app.js"><\/script>/);
      assert.doesNotMatch(html, /https?:\/\//, 'nothing loaded from elsewhere');
      const js = await fetch(`${base}/ui/app.js`);
      assert.equal(js.status, 200);
      assert.match(js.headers.get('content-type') ?? '', /^text\/javascript/);
      const code = await js.text();
      assert.ok(code.includes('/v1/connect/intentions') && code.includes('X-Consul-Token'), 'the bundle uses the public API with the token');
      assert.doesNotMatch(code, /https?:\/\/(?!www\.w3\.org)/, 'no remote URLs in the bundle');
      assert.equal((await fetch(`${base}/ui/app.css`)).status, 200);
      // A client-side page is the page itself; a file that is not in the bundle is not served.
      assert.equal((await fetch(`${base}/ui/intentions`)).status, 200);
      const traversal = await fetch(`${base}/ui/..%2Fpackage.json`);
      assert.match(await traversal.text(), /<div id="app"><\/div>/, 'not a bundle file name: the page, never the file');
      assert.equal((await fetch(`${base}/ui/nope.js`)).status, 404);
    }
  });

  it('says how to build it when the bundle is missing', async () => {
    const app = Fastify();
    registerUiRoutes(app, join(makeTempDir(), 'no-ui'));
    const res = await app.inject({ method: 'GET', url: '/ui/' });
    assert.equal(res.statusCode, 503);
    assert.match(res.body, /The web UI is not built: run `npm run build:ui`/);
    await app.close();
  });
});
