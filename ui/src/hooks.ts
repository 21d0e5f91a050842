import { useEffect, useState } from 'preact/hooks';
import { errorText, poll, watch } from './api.js';

/** A value kept current by a blocking-query loop on `path` (null until the first answer). */
export function useWatch<T>(path: string | null): { value: T | null; error: string | null } {
  const [value, setValue] = useState<T | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    if (!path) return undefined;
    const controller = new AbortController();
    void watch<T>(
      path,
      (v) => {
        setValue(v);
        setError(null);
      },
      (err) => setError(errorText(err)),
      controller.signal,
    );
    return () => controller.abort();
  }, [path]);
  return { value, error };
}

/** A value polled every `ms`. */
export function usePoll<T>(path: string | null, ms: number): { value: T | null; error: string | null } {
  const [value, setValue] = useState<T | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    if (!path) return undefined;
    const controller = new AbortController();
    void poll<T>(
      path,
      ms,
      (v) => {
        setValue(v);
        setError(null);
      },
      (err) => setError(errorText(err)),
      controller.signal,
    );
    return () => controller.abort();
  }, [path, ms]);
  return { value, error };
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
