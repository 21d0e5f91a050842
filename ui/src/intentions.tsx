import { useState } from 'preact/hooks';
import { call, errorText } from './api.js';
import { useWatch } from './hooks.js';
import { time } from './format.js';
import type { Intention, Roots } from './types.js';

/** The intentions table (live through a blocking query), the create/edit form and the check box. */
export function Intentions({ here, primary }: { here: string; primary: string }) {
  const list = useWatch<Intention[]>('/v1/connect/intentions');
  const [filter, setFilter] = useState('');
  const [editing, setEditing] = useState<Intention | null>(null);
  const [message, setMessage] = useState<{ ok: boolean; text: string } | null>(null);
  // A new key empties the form after a successful write.
  const [formKey, setFormKey] = useState(0);
  const f = filter.trim().toLowerCase();
  const rows = (list.value ?? []).filter((i) => !f || `${i.SourceName} ${i.DestinationName} ${i.Action} ${i.Description}`.toLowerCase().includes(f));

  async function remove(i: Intention) {
    try {
      await call('DELETE', `/v1/connect/intentions/${encodeURIComponent(i.ID)}`);
      setMessage({ ok: true, text: `Deleted ${i.SourceName} => ${i.DestinationName}` });
    } catch (err) {
      setMessage({ ok: false, text: errorText(err) });
    }
  }

  return (
    <section>
      <h2>Intentions</h2>
      {here !== primary ? <p class="note">Writes made here are forwarded to the primary datacenter, {primary}; with the WAN down they fail and nothing changes.</p> : null}
      <IntentionForm
        key={`${editing?.ID ?? 'new'}-${formKey}`}
        editing={editing}
        onDone={(text, ok) => {
          setMessage({ ok, text });
          if (ok) {
            setEditing(null);
            setFormKey((k) => k + 1);
          }
        }}
        onCancel={() => setEditing(null)}
      />
      {message ? <p class={message.ok ? 'ok' : 'error'} role="status">{message.text}</p> : null}
      <Check here={here} />
      <label class="filter">
        Filter <input id="intention-filter" value={filter} onInput={(e) => setFilter((e.target as HTMLInputElement).value)} placeholder="source, destination, action…" />
      </label>
      {list.error ? <p class="error">{list.error}</p> : null}
      <table id="intentions">
        <thead>
          <tr>
            <th>Source</th>
            <th>Destination</th>
            <th>Action</th>
            <th>Precedence</th>
            <th>Description</th>
            <th>Last change</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {rows.map((i) => (
            <tr key={i.ID} data-source={i.SourceName} data-destination={i.DestinationName}>
              <td>{i.SourceNS === 'default' ? i.SourceName : `${i.SourceNS}/${i.SourceName}`}</td>
              <td>{i.DestinationNS === 'default' ? i.DestinationName : `${i.DestinationNS}/${i.DestinationName}`}</td>
              <td class={i.Action}>{i.Action}</td>
              <td>{i.Precedence}</td>
              <td>{i.Description}</td>
              <td>
                {time(i.UpdatedAt)} <span class="dim">#{i.ModifyIndex}</span>
              </td>
              <td>
                <button type="button" onClick={() => setEditing(i)}>
                  Edit
                </button>{' '}
                <button type="button" onClick={() => void remove(i)}>
                  Delete
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <p class="dim">{list.value ? `${rows.length} of ${list.value.length} intentions` : 'loading…'}</p>
    </section>
  );
}

function IntentionForm({ editing, onDone, onCancel }: { editing: Intention | null; onDone: (text: string, ok: boolean) => void; onCancel: () => void }) {
  const [source, setSource] = useState(editing?.SourceName ?? '');
  const [destination, setDestination] = useState(editing?.DestinationName ?? '');
  const [action, setAction] = useState<'allow' | 'deny'>(editing?.Action ?? 'allow');
  const [description, setDescription] = useState(editing?.Description ?? '');
  const [busy, setBusy] = useState(false);

  async function submit(e: Event) {
    e.preventDefault();
    setBusy(true);
    try {
      const body = { SourceName: source.trim(), DestinationName: destination.trim(), Action: action, Description: description };
      if (editing) await call('PUT', `/v1/connect/intentions/${encodeURIComponent(editing.ID)}`, { ...body, SourceType: 'consul' });
      else await call('POST', '/v1/connect/intentions', { ...body, SourceType: 'consul' });
      onDone(`${editing ? 'Updated' : 'Created'} ${body.SourceName} => ${body.DestinationName} (${action})`, true);
    } catch (err) {
      onDone(errorText(err), false);
    } finally {
      setBusy(false);
    }
  }

  return (
    <form id="intention-form" onSubmit={(e) => void submit(e)}>
      <input name="source" value={source} onInput={(e) => setSource((e.target as HTMLInputElement).value)} placeholder="source (or *)" required disabled={editing !== null} />
      <span>→</span>
      <input name="destination" value={destination} onInput={(e) => setDestination((e.target as HTMLInputElement).value)} placeholder="destination (or *)" required disabled={editing !== null} />
      <select name="action" value={action} onChange={(e) => setAction((e.target as HTMLSelectElement).value as 'allow' | 'deny')}>
        <option value="allow">allow</option>
        <option value="deny">deny</option>
      </select>
      <input name="description" value={description} onInput={(e) => setDescription((e.target as HTMLInputElement).value)} placeholder="description" />
      <button type="submit" disabled={busy}>
        {editing ? 'Save' : 'Create'}
      </button>
      {editing ? (
        <button type="button" onClick={onCancel}>
          Cancel
        </button>
      ) : null}
    </form>
  );
}

/** Can A talk to B, and which intention decided it: Consul's authorize (its Reason names the intention), or check without service:write. */
function Check({ here }: { here: string }) {
  const [a, setA] = useState('');
  const [b, setB] = useState('');
  const [answer, setAnswer] = useState<{ ok: boolean; text: string } | null>(null);
  async function check(e: Event) {
    e.preventDefault();
    try {
      const roots = (await call<Roots>('GET', '/v1/connect/ca/roots')).body;
      const uri = `spiffe://${roots.TrustDomain}/ns/default/dc/${here}/svc/${a.trim()}`;
      const r = (await call<{ Authorized: boolean; Reason: string }>('POST', '/v1/agent/connect/authorize', { Target: b.trim(), ClientCertURI: uri })).body;
      setAnswer({ ok: r.Authorized, text: `${r.Authorized ? 'Allowed' : 'Denied'}: ${r.Reason}` });
    } catch (err) {
      try {
        const r = (await call<{ Allowed: boolean }>('GET', `/v1/connect/intentions/check?source=${encodeURIComponent(a.trim())}&destination=${encodeURIComponent(b.trim())}`)).body;
        setAnswer({ ok: r.Allowed, text: r.Allowed ? 'Allowed' : 'Denied' });
      } catch {
        setAnswer({ ok: false, text: errorText(err) });
      }
    }
  }
  return (
    <form id="check-form" class="check" onSubmit={(e) => void check(e)}>
      <strong>Check</strong> can <input name="a" value={a} onInput={(e) => setA((e.target as HTMLInputElement).value)} placeholder="source" required /> talk to{' '}
      <input name="b" value={b} onInput={(e) => setB((e.target as HTMLInputElement).value)} placeholder="destination" required />?{' '}
      <button type="submit">Check</button>
      {answer ? <span id="check-answer" class={answer.ok ? 'ok' : 'error'}>{answer.text}</span> : null}
    </form>
  );
}
