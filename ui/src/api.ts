// The UI talks to the agent that served it, through the same HTTP API as the CLI (no private
// endpoints). The ACL token, when one is set, goes in X-Consul-Token (EventSource: ?token=).

const TOKEN_KEY = 'trellis.token';

export function token(): string {
  return localStorage.getItem(TOKEN_KEY) ?? '';
}

export function setToken(value: string): void {
  if (value) localStorage.setItem(TOKEN_KEY, value);
  else localStorage.removeItem(TOKEN_KEY);
}

/** An answer that was not 2xx: the agent's own words, shown as they are. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export interface Answer<T> {
  readonly body: T;
  /** X-Consul-Index, for the next blocking query. */
  readonly index: number;
}

export async function call<T>(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<Answer<T>> {
  const headers: Record<string, string> = {};
  if (token()) headers['X-Consul-Token'] = token();
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(path, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }), ...(signal ? { signal } : {}) });
  const text = await res.text();
  if (!res.ok) throw new ApiError(res.status, text.trim() || `${res.status} ${res.statusText}`);
  return { body: (text ? JSON.parse(text) : null) as T, index: Number(res.headers.get('X-Consul-Index') ?? 0) };
}

export const get = <T>(path: string, signal?: AbortSignal) => call<T>('GET', path, undefined, signal);

/**
 * Consul's blocking-query loop: answers at once, then each time the index moves. Stops when the
 * signal aborts; on errors it waits a little and tries again, reporting them.
 */
export async function watch<T>(path: string, onValue: (value: T) => void, onError: (err: unknown) => void, signal: AbortSignal): Promise<void> {
  let index = 0;
  while (!signal.aborted) {
    try {
      const sep = path.includes('?') ? '&' : '?';
      const answer = await get<T>(index > 0 ? `${path}${sep}index=${index}&wait=60s` : path, signal);
      if (answer.index < index) index = 0; // the index went backwards: start again, as Consul's clients do
      else index = answer.index;
      onValue(answer.body);
    } catch (err) {
      if (signal.aborted) return;
      onError(err);
      await new Promise((r) => setTimeout(r, 2000));
    }
  }
}

/** Polls `path` every `ms` (for what has no blocking query: replication status). */
export async function poll<T>(path: string, ms: number, onValue: (value: T) => void, onError: (err: unknown) => void, signal: AbortSignal): Promise<void> {
  while (!signal.aborted) {
    try {
      onValue((await get<T>(path, signal)).body);
    } catch (err) {
      if (signal.aborted) return;
      onError(err);
    }
    await new Promise((r) => setTimeout(r, ms));
  }
}

export const errorText = (err: unknown): string => (err instanceof ApiError ? `${err.status}: ${err.message}` : err instanceof Error ? err.message : String(err));
