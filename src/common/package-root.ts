import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let cached: string | undefined;

/**
 * The directory holding trellis's package.json: where `streams/` and `bin/` live, whether the code
 * runs from `src/` through tsx or from `dist/src/` after `npm run build`.
 */
export function packageRoot(): string {
  if (cached) return cached;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'streams'))) return (cached = dir);
    const parent = dirname(dir);
    if (parent === dir) throw new Error('cannot find the trellis package root (package.json beside streams/)');
    dir = parent;
  }
}
