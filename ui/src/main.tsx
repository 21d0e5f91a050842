import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { errorText, get, setToken, token } from './api.js';
import { Datacenters } from './datacenters.js';
import { Intentions } from './intentions.js';
import { Certificates } from './certificates.js';
import { Audit } from './audit.js';
import type { Self } from './types.js';

const PAGES = ['datacenters', 'intentions', 'certificates', 'audit'] as const;
type Page = (typeof PAGES)[number];

const pageOf = (hash: string): Page => (PAGES as readonly string[]).includes(hash.replace(/^#\/?/, '')) ? (hash.replace(/^#\/?/, '') as Page) : 'datacenters';

function App() {
  const [page, setPage] = useState<Page>(pageOf(location.hash));
  const [self, setSelf] = useState<Self | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [tokenGeneration, setTokenGeneration] = useState(0);
  useEffect(() => {
    const onHash = () => setPage(pageOf(location.hash));
    addEventListener('hashchange', onHash);
    return () => removeEventListener('hashchange', onHash);
  }, []);
  useEffect(() => {
    get<Self>('/v1/agent/self')
      .then((a) => setSelf(a.body))
      .catch((err: unknown) => setError(errorText(err)));
  }, [tokenGeneration]);
  const here = self?.Config.Datacenter ?? '';
  const primary = self?.Config.PrimaryDatacenter ?? '';
  useEffect(() => {
    if (here) document.title = `trellis · ${here}`;
  }, [here]);
  return (
    <>
      <header>
        <h1>
          trellis <span id="dc">{here}</span> {here && here === primary ? <span class="badge">primary</span> : here ? <span class="badge">secondary of {primary}</span> : null}
        </h1>
        <nav>
          {PAGES.map((p) => (
            <a key={p} href={`#/${p}`} class={p === page ? 'current' : ''}>
              {p[0]!.toUpperCase() + p.slice(1)}
            </a>
          ))}
        </nav>
        <TokenBox onChange={() => setTokenGeneration((n) => n + 1)} />
      </header>
      <main key={tokenGeneration}>
        {error ? <p class="error">{error}</p> : null}
        {!self ? null : page === 'datacenters' ? (
          <Datacenters here={here} primary={primary} />
        ) : page === 'intentions' ? (
          <Intentions here={here} primary={primary} />
        ) : page === 'certificates' ? (
          <Certificates primary={primary} />
        ) : (
          <Audit />
        )}
      </main>
    </>
  );
}

/** The ACL token (Consul's X-Consul-Token), kept in this browser's local storage. */
function TokenBox({ onChange }: { onChange: () => void }) {
  const [value, setValue] = useState(token());
  const [saved, setSaved] = useState(token() !== '');
  return (
    <form
      class="token"
      onSubmit={(e) => {
        e.preventDefault();
        setToken(value.trim());
        setSaved(value.trim() !== '');
        onChange();
      }}
    >
      <input type="password" name="token" value={value} onInput={(e) => setValue((e.target as HTMLInputElement).value)} placeholder="ACL token (SecretID)" autocomplete="off" />
      <button type="submit">{saved ? 'Change token' : 'Log in'}</button>
      {saved ? (
        <button
          type="button"
          onClick={() => {
            setToken('');
            setValue('');
            setSaved(false);
            onChange();
          }}
        >
          Log out
        </button>
      ) : null}
    </form>
  );
}

render(<App />, document.getElementById('app')!);
