import { useEffect, useState } from 'preact/hooks';
import { errorText, get, poll, watch } from './api.js';
import type { Replication } from './types.js';

/** A value kept current by a loop (`watch` or `poll` from api.ts) on `path`; null until the first answer. */
function useLoop<T>(path: string | null, loop: (path: string, onValue: (v: T) => void, onError: (e: unknown) => void, signal: AbortSignal) => Promise<void>, deps: readonly unknown[]): { value: T | null; error: string | null } {
  const [value, setValue] = useState<T | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    if (!path) return undefined;
    const controller = new AbortController();
    void loop(
      path,
      (v) => {
        setValue(v);
        setError(null);
      },
      (err) => setError(errorText(err)),
      controller.signal,
    );
    return () => controller.abort();
  }, [path, ...deps]);
  return { value, error };
}

/** A value kept current by a blocking-query loop on `path`. */
export const useWatch = <T>(path: string | null) => useLoop<T>(path, watch, []);

/** A value polled every `ms`. */
export const usePoll = <T>(path: string | null, ms: number) => useLoop<T>(path, (p, onValue, onError, signal) => poll(p, ms, onValue, onError, signal), [ms]);

/** Every datacenter's replication status (with its CA block), polled through this agent's `?dc=`. */
export function useDatacenterStatuses(names: readonly string[], ms: number): Array<{ readonly name: string; readonly status: Replication | null; readonly error: string | null }> {
  const [states, setStates] = useState<Array<{ name: string; status: Replication | null; error: string | null }>>([]);
  const key = names.join(',');
  useEffect(() => {
    let stopped = false;
    const tick = async () => {
      const next = await Promise.all(
        names.map(async (name) => {
          try {
            return { name, status: (await get<Replication>(`/v1/trellis/replication?dc=${encodeURIComponent(name)}`)).body, error: null };
          } catch (err) {
            return { name, status: null, error: errorText(err) };
          }
        }),
      );
      if (!stopped) setStates(next);
    };
    void tick();
    const t = setInterval(() => void tick(), ms);
    return () => {
      stopped = true;
      clearInterval(t);
    };
  }, [key, ms]);
  return states;
}

/** The current time, ticking every second (countdowns). */
export function useNow(): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(t);
  }, []);
  return now;
}
