// Bundles the web UI (ui/src, Preact) into ui/dist with esbuild: one script, one stylesheet, one
// page, nothing fetched from elsewhere at run time. Run by `npm run build:ui`, `npm run build`,
// and the pre step when ui/dist is missing or older than its sources.
import { build } from 'esbuild';
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const out = join(root, 'ui', 'dist');
mkdirSync(out, { recursive: true });
await build({
  entryPoints: [join(root, 'ui', 'src', 'main.tsx')],
  bundle: true,
  format: 'esm',
  target: 'es2022',
  minify: true,
  sourcemap: true,
  jsx: 'automatic',
  jsxImportSource: 'preact',
  outfile: join(out, 'app.js'),
  logLevel: 'warning',
});
copyFileSync(join(root, 'ui', 'index.html'), join(out, 'index.html'));
copyFileSync(join(root, 'ui', 'app.css'), join(out, 'app.css'));
console.error(`[ui] built ${out}`);
