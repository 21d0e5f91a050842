import { useEffect, useState } from 'preact/hooks';
import { get, token } from './api.js';
import { summary, time } from './format.js';
import type { FeedEvent } from './types.js';

// Every event type the log may carry: the feed names each SSE event after its type.
const TYPES = ['LogStarted', 'IntentionCreated', 'IntentionUpdated', 'IntentionDeleted', 'CARootCreated', 'IntermediateIssued', 'CAConfigSet', 'CARootRotated', 'CARootsPruned', 'CSRRefused', 'SnapshotTaken', 'ACLPolicySet', 'ACLPolicyDeleted', 'ACLTokenSet', 'ACLTokenDeleted'];
const KEEP = 500;

/** The event log, newest first, live over Server-Sent Events (`/v1/trellis/events/stream`). */
export function Audit() {
  const [events, setEvents] = useState<FeedEvent[]>([]);
  const [state, setState] = useState('connecting…');
  useEffect(() => {
    let source: EventSource | undefined;
    let stopped = false;
    void (async () => {
      // Start with the last KEEP events: the feed's head is the replication status's applied index.
      let from = 1;
      try {
        const status = (await get<{ AppliedIndex: number }>('/v1/trellis/replication')).body;
        from = Math.max(1, status.AppliedIndex - KEEP + 1);
      } catch {
        // from the start
      }
      if (stopped) return;
      const params = new URLSearchParams({ from: String(from) });
      if (token()) params.set('token', token());
      source = new EventSource(`/v1/trellis/events/stream?${params.toString()}`);
      source.onopen = () => setState('live');
      source.onerror = () => setState('reconnecting…');
      const onEvent = (m: MessageEvent<string>) => {
        const e = JSON.parse(m.data) as FeedEvent;
        setEvents((all) => [e, ...all.filter((x) => x.seq !== e.seq)].slice(0, KEEP));
      };
      for (const type of TYPES) source.addEventListener(type, onEvent as EventListener);
      source.addEventListener('error', ((m: MessageEvent<string>) => {
        if (typeof m.data === 'string') setState(`error: ${m.data}`);
      }) as EventListener);
    })();
    return () => {
      stopped = true;
      source?.close();
    };
  }, []);
  return (
    <section>
      <h2>Audit</h2>
      <p class="dim" id="audit-state">
        {state}; newest first, the last {KEEP} events
      </p>
      <table id="audit">
        <thead>
          <tr>
            <th>Seq</th>
            <th>When</th>
            <th>Type</th>
            <th>Who</th>
            <th>From</th>
            <th>What</th>
          </tr>
        </thead>
        <tbody>
          {events.map((e) => (
            <tr key={e.seq}>
              <td>{e.seq}</td>
              <td>{time(e.time)}</td>
              <td>{e.type}</td>
              <td>{e.by}</td>
              <td>{e.origin ? `${e.origin.dc} ${e.origin.addr}` : ''}</td>
              <td>{summary(e.type, e.data)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
