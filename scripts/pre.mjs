// Dependency-free set-up step run before `npm run dev`, `npm test` and `npm run bench`:
// brings in what a fresh machine lacks (node_modules, nats-server) or says clearly what to do.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;

function findNatsServer() {
  if (process.env.NATS_SERVER_BIN) return existsSync(process.env.NATS_SERVER_BIN) ? process.env.NATS_SERVER_BIN : null;
  for (const dir of [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/bin']) {
    if (dir && existsSync(join(dir, 'nats-server'))) return join(dir, 'nats-server');
  }
  return null;
}

if (!existsSync(join(root, 'node_modules', '.package-lock.json'))) {
  console.error('[pre] node_modules missing: running npm ci');
  execFileSync('npm', ['ci'], { cwd: root, stdio: 'inherit' });
}

if (!findNatsServer()) {
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (isRoot && existsSync('/usr/bin/apt-get')) {
    console.error('[pre] nats-server missing: installing the Debian package');
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    let r = spawnSync('apt-get', ['install', '-y', '-qq', 'nats-server'], { stdio: 'inherit', env });
    if (r.status !== 0) {
      spawnSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
      r = spawnSync('apt-get', ['install', '-y', '-qq', 'nats-server'], { stdio: 'inherit', env });
    }
    if (r.status !== 0 || !findNatsServer()) {
      console.error('[pre] could not install nats-server: run `apt-get install -y nats-server` or set NATS_SERVER_BIN');
      process.exit(1);
    }
  } else {
    console.error('[pre] nats-server not found: set NATS_SERVER_BIN or run `sudo apt-get install -y nats-server`');
    process.exit(1);
  }
}

// The fault suite moves a secondary's clock with libfaketime (Debian's faketime): best effort, the
// suite skips that fault without it.
const faketime = ['/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1', '/usr/lib/aarch64-linux-gnu/faketime/libfaketimeMT.so.1'];
if (!faketime.some((p) => existsSync(p)) && typeof process.getuid === 'function' && process.getuid() === 0 && existsSync('/usr/bin/apt-get')) {
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  if (spawnSync('apt-get', ['install', '-y', '-qq', 'faketime'], { stdio: 'ignore', env }).status !== 0) {
    console.error('[pre] faketime not installed: the fault suite will skip the clock-jump fault');
  }
}

// The web UI is bundled at build time (scripts/build-ui.mjs, esbuild): built here when missing or
// older than its sources, so `npm run dev` and the tests serve the current one.
const uiOut = join(root, 'ui', 'dist', 'app.js');
const uiSources = [join(root, 'ui', 'index.html'), join(root, 'ui', 'app.css'), ...readdirSync(join(root, 'ui', 'src')).map((f) => join(root, 'ui', 'src', f))];
if (!existsSync(uiOut) || uiSources.some((f) => statSync(f).mtimeMs > statSync(uiOut).mtimeMs)) {
  execFileSync(process.execPath, [join(root, 'scripts', 'build-ui.mjs')], { cwd: root, stdio: 'inherit' });
}

// The browser test drives Debian's chromium (headless): installed for `npm test` when missing and
// we are root; otherwise a clear message (the test names CHROME_BIN too).
if (process.argv.includes('--for-tests')) {
  const browsers = [process.env.CHROME_BIN, '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'].filter(Boolean);
  if (!browsers.some((p) => existsSync(p))) {
    const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
    if (isRoot && existsSync('/usr/bin/apt-get')) {
      console.error('[pre] chromium missing (the web UI test drives it headless): installing the Debian package');
      const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
      let r = spawnSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'chromium'], { stdio: 'inherit', env });
      if (r.status !== 0) {
        spawnSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
        r = spawnSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'chromium'], { stdio: 'inherit', env });
      }
      if (r.status !== 0) console.error('[pre] could not install chromium: the web UI test will fail; apt-get install -y chromium or set CHROME_BIN');
    } else {
      console.error('[pre] chromium not found: the web UI test needs it (sudo apt-get install -y chromium, or set CHROME_BIN)');
    }
  }
}
