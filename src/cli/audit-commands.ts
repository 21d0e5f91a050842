import type { Command } from 'commander';
import { connect } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { describeForAudit, verifyChain, walkStream, type AuditEntry } from '../audit/index.js';
import { errorMessage } from '../common/index.js';
import { decodeEvent, EVENT_TYPES } from '../events/index.js';
import { CliExit } from './exit.js';
import { natsOptions } from './nats-options.js';
import { columnize } from './format.js';
import type { CliIo } from './main.js';

interface StreamFlags {
  natsUrl?: string;
  natsCreds?: string;
  datacenter?: string;
}

function withStreamFlags(cmd: Command): Command {
  return cmd
    .option('--nats-url <url>', "the datacenter's nats-server (TRELLIS_NATS_URL; default nats://127.0.0.1:4222)")
    .option('--nats-creds <file>', 'a NATS credentials file (TRELLIS_NATS_CREDS), such as the reader.json `trellis dev` writes')
    .option('--datacenter <dc>', 'whose stream to read: its JetStream domain (TRELLIS_DATACENTER; default dc1)');
}

async function openStream(flags: StreamFlags, io: CliIo) {
  const url = flags.natsUrl ?? io.env.TRELLIS_NATS_URL ?? 'nats://127.0.0.1:4222';
  const domain = flags.datacenter ?? io.env.TRELLIS_DATACENTER ?? 'dc1';
  try {
    const nc = await connect({ ...natsOptions(url, flags.natsCreds ?? io.env.TRELLIS_NATS_CREDS), name: 'trellis-audit' });
    return { nc, js: jetstream(nc, { domain }), jsm: await jetstreamManager(nc, { domain }), domain };
  } catch (err) {
    throw new CliExit(1, `Error connecting to ${url} (JetStream domain ${domain}): ${errorMessage(err)}`);
  }
}

function time(text: string | undefined, flag: string): number | undefined {
  if (text === undefined) return undefined;
  const t = Date.parse(text);
  if (Number.isNaN(t)) throw new CliExit(1, `${flag} must be an RFC 3339 time such as 2026-11-24T10:00:00Z, got ${JSON.stringify(text)}`);
  return t;
}

/** `trellis audit verify` and `trellis audit log`: the log itself, read from NATS, not through an agent. */
export function registerAuditCommands(program: Command, io: CliIo): void {
  const audit = program.command('audit').description('Verify and read the event log: the audit trail of every authorization and CA change');
  withStreamFlags(audit.command('verify').description('Walk the whole stream: every event must decode and link (SHA-256) to the one before it')).action(async (flags: StreamFlags) => {
    const { nc, js, jsm, domain } = await openStream(flags, io);
    try {
      const r = await verifyChain(js, jsm);
      if (!r.ok) throw new CliExit(1, `Hash chain of ${domain} broken at event ${r.brokenAt}: ${r.reason} (${r.verified} events verified before it)`);
      const range = r.from > 1 ? ` (events ${r.from}-${r.from + r.verified - 1}: ${domain} started from a view snapshot, the log before ${r.from} is at the primary)` : '';
      io.stdout(`Verified ${r.verified} events of ${domain}${range}: the hash chain is intact. Head: ${r.head}\n`);
    } finally {
      await nc.close();
    }
  });

  withStreamFlags(
    audit
      .command('log')
      .description('Print the log as a table (or JSON lines for a SIEM), optionally filtered')
      .option('--since <time>', 'events decided at or after this RFC 3339 time')
      .option('--until <time>', 'events decided before this RFC 3339 time')
      .option('--service <name>', 'intention events whose source or destination is this service')
      .option('--type <type>', `one event type (${EVENT_TYPES.join(', ')})`)
      .option('--json', 'one JSON object per line'),
  ).action(async (flags: StreamFlags & { since?: string; until?: string; service?: string; type?: string; json?: boolean }) => {
    const since = time(flags.since, '-since');
    const until = time(flags.until, '-until');
    if (flags.type && !(EVENT_TYPES as readonly string[]).includes(flags.type)) throw new CliExit(1, `-type must be one of ${EVENT_TYPES.join(', ')}`);
    const { nc, js, jsm } = await openStream(flags, io);
    const rows: AuditEntry[] = [];
    // Deletions name only an ID: remember which services each intention was about.
    const servicesOf = new Map<string, readonly string[]>();
    try {
      await walkStream(js, jsm, (seq, bytes) => {
        const event = decodeEvent(bytes);
        let entry = describeForAudit(seq, event);
        if (event.type === 'IntentionCreated' || event.type === 'IntentionUpdated') servicesOf.set(event.data.intention.ID, entry.services);
        if (event.type === 'IntentionDeleted') entry = { ...entry, services: servicesOf.get(event.data.id) ?? [] };
        const at = event.at;
        if (since !== undefined && at < since) return;
        if (until !== undefined && at >= until) return;
        if (flags.type && event.type !== flags.type) return;
        if (flags.service && !entry.services.includes(flags.service)) return;
        if (flags.json) io.stdout(`${JSON.stringify(entry)}\n`);
        else rows.push(entry);
      });
    } catch (err) {
      throw new CliExit(1, `Error reading the log: ${errorMessage(err)}`);
    } finally {
      await nc.close();
    }
    if (!flags.json) io.stdout(`${columnize([['Seq', 'Time', 'Type', 'By', 'Summary'], ...rows.map((r) => [String(r.seq), r.time, r.type, r.by, r.summary])])}\n`);
  });
}
