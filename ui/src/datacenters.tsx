import { useDatacenterStatuses, usePoll } from './hooks.js';
import type { Peer } from './types.js';

type DcState = ReturnType<typeof useDatacenterStatuses>[number];

const color = (s: DcState) => (s.status?.Halted ? '#c62828' : !s.status ? '#9e9e9e' : s.status.MirrorActive ? '#2e7d32' : '#ef6c00');

export function Datacenters({ here, primary }: { here: string; primary: string }) {
  const known = usePoll<string[]>('/v1/catalog/datacenters', 5000);
  const peers = usePoll<Peer[]>('/v1/trellis/datacenters', 2000);
  const names = known.value ?? [here];
  const states = useDatacenterStatuses(names, 1000);
  const rtt = new Map((peers.value ?? []).map((p) => [p.Datacenter, p]));
  const secondaries = states.filter((s) => s.name !== primary);
  const center = { x: 300, y: 170 };
  const place = (i: number) => {
    const angle = (2 * Math.PI * i) / Math.max(1, secondaries.length) - Math.PI / 2;
    return { x: center.x + 220 * Math.cos(angle), y: center.y + 120 * Math.sin(angle) };
  };
  const primaryState = states.find((s) => s.name === primary);
  return (
    <section>
      <h2>Datacenters</h2>
      {known.error ? <p class="error">{known.error}</p> : null}
      <svg class="map" viewBox="0 0 600 340" role="img" aria-label="datacenter map">
        {secondaries.map((s, i) => {
          const p = place(i);
          const peer = rtt.get(s.name);
          return (
            <g key={`edge-${s.name}`}>
              <line x1={center.x} y1={center.y} x2={p.x} y2={p.y} stroke={s.status?.MirrorActive ? '#90a4ae' : '#ef9a9a'} stroke-width="2" stroke-dasharray={s.status?.MirrorActive ? '' : '6 4'} />
              <text x={(center.x + p.x) / 2} y={(center.y + p.y) / 2 - 6} class="edge">
                {peer?.RTTMs != null ? `${peer.RTTMs.toFixed(1)} ms` : peer && !peer.Reachable ? 'unreachable' : ''}
              </text>
            </g>
          );
        })}
        {primaryState ? <Node state={primaryState} x={center.x} y={center.y} primary /> : null}
        {secondaries.map((s, i) => {
          const p = place(i);
          return <Node key={s.name} state={s} x={p.x} y={p.y} primary={false} />;
        })}
      </svg>
      <table>
        <thead>
          <tr>
            <th>Datacenter</th>
            <th>Role</th>
            <th>Applied index</th>
            <th>Lag (events)</th>
            <th>Mirror</th>
            <th>RTT from {here}</th>
            <th>State</th>
          </tr>
        </thead>
        <tbody>
          {states.map((s) => (
            <tr key={s.name} class={s.status?.Halted ? 'halted' : ''} data-dc={s.name}>
              <td>{s.name}</td>
              <td>{s.name === primary ? 'primary' : 'secondary'}</td>
              <td>{s.status?.AppliedIndex ?? '–'}</td>
              <td>{s.status?.LagEvents ?? '–'}</td>
              <td>{s.status ? (s.name === primary ? 'stream' : s.status.MirrorActive ? 'active' : 'inactive') : '–'}</td>
              <td>{s.name === here ? '–' : rtt.get(s.name)?.RTTMs != null ? `${rtt.get(s.name)!.RTTMs!.toFixed(1)} ms` : '–'}</td>
              <td>{s.error ? <span class="error">{s.error}</span> : s.status?.Halted ? <span class="error">halted: {s.status.HaltReason}</span> : 'ok'}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

function Node({ state, x, y, primary }: { state: DcState; x: number; y: number; primary: boolean }) {
  return (
    <g class="dc" data-dc={state.name}>
      <circle cx={x} cy={y} r={primary ? 44 : 36} fill={color(state)} />
      <text x={x} y={y - 4} class="name">
        {state.name}
      </text>
      <text x={x} y={y + 12} class="detail">
        {state.status ? `#${state.status.AppliedIndex} lag ${state.status.LagEvents}` : 'no answer'}
      </text>
    </g>
  );
}
