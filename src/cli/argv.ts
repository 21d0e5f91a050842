/**
 * Consul's CLI spells long flags with one dash (`-http-addr`, `-allow`). commander wants two.
 * Rewrites `-name` / `-name=value` into `--name` / `--name=value` so both spellings work;
 * leaves single-letter flags, `-`, `--`, negative numbers and everything after `--` alone.
 */
export function normalizeConsulFlags(args: readonly string[]): string[] {
  const out: string[] = [];
  let passthrough = false;
  for (const arg of args) {
    if (passthrough) {
      out.push(arg);
      continue;
    }
    if (arg === '--') {
      passthrough = true;
      out.push(arg);
      continue;
    }
    if (/^-[A-Za-z][A-Za-z0-9-]+(=.*)?$/s.test(arg)) {
      out.push(`-${arg}`);
      continue;
    }
    out.push(arg);
  }
  return out;
}
