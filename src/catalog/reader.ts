import { TrellisError, parseDuration } from '../common/index.js';

// Consul decodes bodies with Go's encoding/json (field names match case-insensitively) and agent
// service definitions also in snake_case; unknown fields are ignored. This reader does the same
// for the fields trellis knows, with a clear 400 when a known field has the wrong type.

export type Json = Record<string, unknown>;

const fold = (name: string) => name.replace(/_/g, '').toLowerCase();

export function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function bad(path: string, what: string): never {
  throw new TrellisError('E_VALIDATION', `Request decode failed: ${path}: ${what}`);
}

/** A view of one JSON object that reads fields by Consul's matching rules. */
export class Reader {
  private readonly byFolded = new Map<string, unknown>();

  constructor(
    obj: Json,
    private readonly path: string,
  ) {
    for (const [k, v] of Object.entries(obj)) this.byFolded.set(fold(k), v);
  }

  static of(value: unknown, path: string): Reader {
    if (!isObject(value)) bad(path || 'body', 'expected a JSON object');
    return new Reader(value, path);
  }

  private at(name: string): string {
    return this.path ? `${this.path}.${name}` : name;
  }

  raw(name: string): unknown {
    const v = this.byFolded.get(fold(name));
    return v === null ? undefined : v;
  }

  has(name: string): boolean {
    return this.raw(name) !== undefined;
  }

  string(name: string, fallback = ''): string {
    const v = this.raw(name);
    if (v === undefined) return fallback;
    if (typeof v !== 'string') bad(this.at(name), 'expected a string');
    return v;
  }

  int(name: string, fallback = 0): number {
    const v = this.raw(name);
    if (v === undefined) return fallback;
    if (typeof v !== 'number' || !Number.isInteger(v)) bad(this.at(name), 'expected an integer');
    return v;
  }

  bool(name: string, fallback = false): boolean {
    const v = this.raw(name);
    if (v === undefined) return fallback;
    if (typeof v !== 'boolean') bad(this.at(name), 'expected true or false');
    return v;
  }

  strings(name: string): string[] {
    const v = this.raw(name);
    if (v === undefined) return [];
    if (!Array.isArray(v) || !v.every((s) => typeof s === 'string')) bad(this.at(name), 'expected an array of strings');
    return v;
  }

  stringMap(name: string): Record<string, string> {
    const v = this.raw(name);
    if (v === undefined) return {};
    if (!isObject(v) || !Object.values(v).every((s) => typeof s === 'string')) bad(this.at(name), 'expected an object of strings');
    return v as Record<string, string>;
  }

  object(name: string): Reader | undefined {
    const v = this.raw(name);
    return v === undefined ? undefined : Reader.of(v, this.at(name));
  }

  objects(name: string): Reader[] {
    const v = this.raw(name);
    if (v === undefined) return [];
    if (!Array.isArray(v)) bad(this.at(name), 'expected an array of objects');
    return v.map((item, i) => Reader.of(item, `${this.at(name)}[${i}]`));
  }

  /** A Go duration string ("10s"), or a number of nanoseconds as Go's JSON would carry it; milliseconds. */
  durationMs(name: string): number | undefined {
    const v = this.raw(name);
    if (v === undefined || v === '') return undefined;
    if (typeof v === 'number') return v / 1e6;
    if (typeof v !== 'string') bad(this.at(name), 'expected a duration such as "10s"');
    try {
      return parseDuration(v);
    } catch {
      return bad(this.at(name), `time: invalid duration "${v}"`);
    }
  }
}
