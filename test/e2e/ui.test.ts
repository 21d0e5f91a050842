import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { freePort } from '../../src/natsd/index.js';
import { packageRoot } from '../../src/common/index.js';
import { makeTempDir } from '../helpers/temp.js';
import { waitFor } from '../helpers/wait.js';

const TRELLIS = fileURLToPath(new URL('../../bin/trellis.js', import.meta.url));
// The page's document, as the functions handed to page.waitForFunction see it (they run in the
// browser; this file is compiled without the DOM library).
interface PageNode {
  readonly textContent: string | null;
}
interface PageDocument {
  readonly body: PageNode;
  querySelector(selector: string): PageNode | null;
  querySelectorAll(selector: string): ArrayLike<PageNode>;
  getElementById(id: string): PageNode | null;
}
declare const document: PageDocument;

/** Screenshots for whoever looks at a CI run: test-artifacts/ui/*.png (not committed). */
const ARTIFACTS = join(packageRoot(), 'test-artifacts', 'ui');

/** Debian's chromium (installed by the pre step or CI), or CHROME_BIN. */
function chromium(): string {
  const candidates = [process.env.CHROME_BIN, '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'].filter((p): p is string => !!p);
  const found = candidates.find((p) => existsSync(p));
  if (!found) throw new Error('no Chromium found: apt-get install -y chromium, or set CHROME_BIN');
  return found;
}

describe('the web UI in a real browser (headless Chromium) against trellis dev', () => {
  let dev: ChildProcess;
  let output = '';
  let browser: Browser;
  let ui: { dc1: string; dc2: string };
  let dc1NatsPid = 0;

  before(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    const dataDir = join(makeTempDir('trellis-ui-'), 'dev');
    dev = spawn(process.execPath, [TRELLIS, 'dev', '--data-dir', dataDir, '--port-base', String(await freePort())], { stdio: ['ignore', 'pipe', 'pipe'] });
    dev.stdout?.on('data', (d: Buffer) => (output += d.toString()));
    dev.stderr?.on('data', (d: Buffer) => (output += d.toString()));
    await waitFor(() => existsSync(join(dataDir, 'dev.json')), { timeoutMs: 60_000, message: () => `trellis dev did not start:\n${output}` });
    const manifest = JSON.parse(readFileSync(join(dataDir, 'dev.json'), 'utf8')) as { datacenters: Array<{ ui: string; natsPid: number }> };
    ui = { dc1: manifest.datacenters[0]!.ui, dc2: manifest.datacenters[1]!.ui };
    dc1NatsPid = manifest.datacenters[0]!.natsPid;
    browser = await puppeteer.launch({ executablePath: chromium(), headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-timer-throttling', '--disable-renderer-backgrounding', '--disable-backgrounding-occluded-windows'] });
  });

  after(async () => {
    await browser?.close();
    if (dev && dev.exitCode === null) {
      dev.kill('SIGTERM');
      await waitFor(() => dev.exitCode !== null || dev.signalCode !== null, { timeoutMs: 15_000 }).catch(() => dev.kill('SIGKILL'));
    }
  });

  async function open(url: string): Promise<Page> {
    const page = await browser.newPage();
    await page.setViewport({ width: 1280, height: 900 });
    const problems: string[] = [];
    page.on('pageerror', (err) => problems.push(String(err)));
    page.on('console', (m) => {
      if (m.type() === 'error' && !/Failed to load resource|ERR_ABORTED/.test(m.text())) problems.push(m.text());
    });
    await page.goto(url, { waitUntil: 'domcontentloaded' });
    await page.waitForSelector('#dc');
    (page as Page & { problems?: string[] }).problems = problems;
    return page;
  }

  const shot = (page: Page, name: string) => page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
  const text = (page: Page, selector: string): Promise<string> => page.evaluate((sel: string) => document.querySelector(sel)?.textContent ?? '', selector);

  it('shows both datacenters with their replication state', async () => {
    const page = await open(`${ui.dc1}#/datacenters`);
    await page.waitForFunction(() => document.querySelectorAll('table tbody tr[data-dc]').length === 2 && !document.body.textContent?.includes('no answer'), { timeout: 20_000 });
    assert.match(await text(page, 'tr[data-dc="dc2"]'), /dc2secondary\d+0active/);
    assert.equal(await text(page, '#dc'), 'dc1');
    await shot(page, 'datacenters-dc1');
    assert.deepEqual((page as Page & { problems?: string[] }).problems, []);
    await page.close();
  });

  it('an intention created in dc1\'s UI appears in dc2\'s UI without a reload, and dc2\'s check names it', async () => {
    const dc2 = await open(`${ui.dc2}#/intentions`);
    await dc2.waitForSelector('#intentions');
    const dc1 = await open(`${ui.dc1}#/intentions`);
    await dc1.waitForSelector('#intention-form');
    await dc1.type('#intention-form input[name=source]', 'ui-web');
    await dc1.type('#intention-form input[name=destination]', 'ui-db');
    await dc1.select('#intention-form select[name=action]', 'deny');
    await dc1.type('#intention-form input[name=description]', 'made in the browser');
    await dc1.click('#intention-form button[type=submit]');
    await dc1.waitForSelector('p.ok[role=status]', { timeout: 10_000 });
    assert.match(await text(dc1, 'p[role=status]'), /Created ui-web => ui-db \(deny\)/);
    await dc1.waitForSelector('tr[data-source="ui-web"][data-destination="ui-db"]', { timeout: 10_000 });
    await shot(dc1, 'intentions-dc1-created');
    // dc2's page was open before the write: the row arrives through its blocking query.
    await dc2.bringToFront();
    await dc2.waitForSelector('tr[data-source="ui-web"][data-destination="ui-db"]', { timeout: 15_000 });
    assert.match(await text(dc2, 'tr[data-source="ui-web"]'), /ui-webui-dbdeny\d+made in the browser/);
    await dc2.type('#check-form input[name=a]', 'ui-web');
    await dc2.type('#check-form input[name=b]', 'ui-db');
    await dc2.click('#check-form button[type=submit]');
    await dc2.waitForSelector('#check-answer', { timeout: 10_000 });
    assert.match(await text(dc2, '#check-answer'), /^Denied: Matched L4 intention: DENY default\/ui-web => default\/ui-db \(ID: [0-9a-f-]{36}\)$/);
    await shot(dc2, 'intentions-dc2-replicated');
    // An edit at dc2 is forwarded to dc1 and comes back to both tables.
    await dc2.click('tr[data-source="ui-web"] button');
    await dc2.select('#intention-form select[name=action]', 'allow');
    await dc2.click('#intention-form button[type=submit]');
    await dc1.bringToFront();
    await dc1.waitForFunction(() => document.querySelector('tr[data-source="ui-web"] td.allow') !== null, { timeout: 15_000 });
    for (const p of [dc1, dc2]) {
      assert.deepEqual((p as Page & { problems?: string[] }).problems, []);
      await p.close();
    }
  });

  it('shows the roots and each datacenter\'s signing certificate with countdowns', async () => {
    const page = await open(`${ui.dc2}#/certificates`);
    await page.waitForFunction(() => document.querySelectorAll('#roots tbody tr').length >= 1 && document.querySelectorAll('#signers tbody tr').length === 2, { timeout: 20_000 });
    assert.match(await text(page, '#roots tbody tr'), /active/);
    await page.waitForFunction(() => Array.from(document.querySelectorAll('#signers tbody tr')).every((r) => r.textContent?.includes('signing') === true), { timeout: 20_000 });
    assert.match(await text(page, '#signers'), /dc1root[0-9a-f:]+\d+d \d+h/);
    assert.match(await text(page, '#signers'), /dc2intermediate[0-9a-f:]+\d+d \d+h/);
    await shot(page, 'certificates-dc2');
    await page.close();
  });

  it('shows the audit log newest first, live', async () => {
    const page = await open(`${ui.dc1}#/audit`);
    await page.waitForFunction(() => document.getElementById('audit-state')?.textContent?.startsWith('live') === true, { timeout: 15_000 });
    await page.waitForFunction(() => document.querySelector('#audit tbody tr')?.textContent?.includes('ui-web => ui-db') === true, { timeout: 15_000 });
    const first = Number(await text(page, '#audit tbody tr td'));
    const second = Number(await text(page, '#audit tbody tr:nth-child(2) td'));
    assert.ok(first > second, 'newest first');
    // A change made elsewhere arrives on the open page.
    const res = await fetch(`${ui.dc1.replace(/\/ui\/$/, '')}/v1/connect/intentions/exact?source=live&destination=ui-db`, { method: 'PUT', body: JSON.stringify({ Action: 'allow' }) });
    assert.equal(res.status, 200);
    await page.waitForFunction(() => document.querySelector('#audit tbody tr')?.textContent?.includes('live => ui-db') === true, { timeout: 15_000 });
    await shot(page, 'audit-dc1');
    await page.close();
  });

  it('a write at dc2 with the WAN down shows the agent\'s 503 plainly and changes nothing', async () => {
    const page = await open(`${ui.dc2}#/intentions`);
    await page.waitForSelector('#intentions');
    const before = await text(page, '#intentions tbody');
    process.kill(dc1NatsPid, 'SIGSTOP'); // the primary's nats-server frozen: the WAN is gone for dc2
    try {
      await page.type('#intention-form input[name=source]', 'wan-down');
      await page.type('#intention-form input[name=destination]', 'ui-db');
      await page.click('#intention-form button[type=submit]');
      await page.waitForSelector('p.error[role=status]', { timeout: 20_000 });
      assert.match(await text(page, 'p[role=status]'), /^503: primary datacenter dc1 is unreachable .*: the write was not applied$/);
      await shot(page, 'intentions-dc2-wan-down');
    } finally {
      process.kill(dc1NatsPid, 'SIGCONT');
    }
    assert.equal(await text(page, '#intentions tbody'), before, 'nothing changed');
    await page.close();
  });
});
