interface Waiter {
  readonly minIndex: number;
  readonly resolve: () => void;
}

/** Blocking-query waiters per key: woken when the key's index passes what they saw. */
export interface Waiters<K> {
  /** Resolves with `current()` once it exceeds `minIndex`, or after `waitMs`, or on abort. */
  wait(key: K, current: () => number, minIndex: number, waitMs: number, signal?: AbortSignal): Promise<number>;
  notify(key: K, index: number): void;
  closeAll(): void;
  count(): number;
}

export function createWaiters<K>(): Waiters<K> {
  const byKey = new Map<K, Set<Waiter>>();
  return {
    wait(key, current, minIndex, waitMs, signal) {
      if (current() > minIndex || waitMs <= 0 || signal?.aborted) return Promise.resolve(current());
      return new Promise<number>((resolve) => {
        let set = byKey.get(key);
        if (!set) byKey.set(key, (set = new Set()));
        const done = () => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', done);
          set.delete(waiter);
          resolve(current());
        };
        const waiter: Waiter = { minIndex, resolve: done };
        const timer = setTimeout(done, waitMs);
        signal?.addEventListener('abort', done, { once: true });
        set.add(waiter);
      });
    },
    notify(key, index) {
      const set = byKey.get(key);
      if (!set) return;
      for (const waiter of [...set]) if (index > waiter.minIndex) waiter.resolve();
    },
    closeAll() {
      for (const set of byKey.values()) for (const waiter of [...set]) waiter.resolve();
    },
    count() {
      let n = 0;
      for (const set of byKey.values()) n += set.size;
      return n;
    },
  };
}
