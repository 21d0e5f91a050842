import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { createApiClient, type ApiClient, type ConsulIntention } from './api-client.js';
import { CliExit } from './exit.js';
import { columnize, intentionDetails, intentionLine } from './format.js';
import { resolveHttpAddr } from './http-addr.js';
import type { CliIo } from './main.js';

export interface HttpFlags {
  httpAddr?: string;
  token?: string;
  datacenter?: string;
}

export function withHttpFlags(cmd: Command): Command {
  return cmd
    .option('--http-addr <addr>', 'the agent\'s HTTP address (CONSUL_HTTP_ADDR / TRELLIS_HTTP_ADDR; default 127.0.0.1:8500)')
    .option('--token <token>', 'ACL token (CONSUL_HTTP_TOKEN)')
    .option('--datacenter <dc>', 'ask this datacenter (reads)');
}

/** Consul's CONSUL_HTTP_TOKEN_FILE: the token in a file (first line, trimmed). */
export function tokenFromFile(path: string | undefined): string | undefined {
  if (!path) return undefined;
  try {
    return readFileSync(path, 'utf8').trim() || undefined;
  } catch (err) {
    throw new CliExit(1, `Error reading CONSUL_HTTP_TOKEN_FILE: ${(err as Error).message}`);
  }
}

export function client(flags: HttpFlags, io: CliIo): ApiClient {
  return createApiClient({
    address: resolveHttpAddr(flags.httpAddr, io.env),
    token: flags.token ?? io.env.CONSUL_HTTP_TOKEN ?? tokenFromFile(io.env.CONSUL_HTTP_TOKEN_FILE),
    datacenter: flags.datacenter,
  });
}

/** Runs an action; failures print Consul's `Error …: …` line and exit 1. */
export async function guarded(what: string, action: () => Promise<void>): Promise<void> {
  try {
    await action();
  } catch (err) {
    if (err instanceof CliExit) throw err;
    throw new CliExit(1, `Error ${what}: ${(err as Error).message}`);
  }
}

/** `get`/`delete` take an ID or a SRC DST pair, like Consul's. */
async function find(api: ApiClient, args: readonly string[]): Promise<ConsulIntention> {
  if (args.length === 1) return api.getById(args[0] ?? '');
  return api.getExact(args[0] ?? '', args[1] ?? '');
}

function usage(message: string): never {
  throw new CliExit(1, message);
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

export function registerIntentionCommands(program: Command, io: CliIo): void {
  const intention = program.command('intention').description('Create and manage intentions (service-to-service authorization)');

  withHttpFlags(
    intention
      .command('create')
      .description('Create an intention from SRC to DST')
      .argument('[src]')
      .argument('[dst]')
      .option('--allow', 'allow the connection (the default)')
      .option('--deny', 'deny the connection')
      .option('--replace', 'replace an existing intention for the same pair')
      .option('--meta <key=value>', 'metadata (repeatable)', collect)
      .option('--description <text>', 'a description'),
  ).action(async (src: string | undefined, dst: string | undefined, flags: HttpFlags & { allow?: boolean; deny?: boolean; replace?: boolean; meta?: string[]; description?: string }) => {
    if (!src || !dst) usage('Must specify two arguments: source and destination');
    if (flags.allow && flags.deny) usage('Only one of -allow or -deny may be specified');
    const meta: Record<string, string> = {};
    for (const kv of flags.meta ?? []) {
      const eq = kv.indexOf('=');
      if (eq <= 0) usage(`Invalid -meta value ${JSON.stringify(kv)}: expected key=value`);
      meta[kv.slice(0, eq)] = kv.slice(eq + 1);
    }
    const action = flags.deny ? 'deny' : 'allow';
    const body = { SourceName: src, DestinationName: dst, SourceType: 'consul', Action: action, Meta: meta, Description: flags.description ?? '' };
    await guarded('creating intention', async () => {
      const api = client(flags, io);
      if (flags.replace) await api.upsertExact(src, dst, body);
      else await api.create(body);
      io.stdout(`Created: ${src} => ${dst} (${action})\n`);
    });
  });

  withHttpFlags(intention.command('get').description('Show an intention, by ID or by SRC DST').argument('<id-or-src>').argument('[dst]')).action(
    async (first: string, second: string | undefined, flags: HttpFlags) => {
      await guarded('reading the intention', async () => {
        const ixn = await find(client(flags, io), second === undefined ? [first] : [first, second]);
        io.stdout(`${intentionDetails(ixn)}\n`);
      });
    },
  );

  withHttpFlags(intention.command('delete').description('Delete an intention, by ID or by SRC DST').argument('<id-or-src>').argument('[dst]')).action(
    async (first: string, second: string | undefined, flags: HttpFlags) => {
      await guarded('deleting the intention', async () => {
        const api = client(flags, io);
        if (second === undefined) await api.deleteById(first);
        else await api.deleteExact(first, second);
        io.stdout('Intention deleted.\n');
      });
    },
  );

  withHttpFlags(
    intention
      .command('check')
      .description('Check whether SRC may connect to DST (exit 0 allowed, 2 denied)')
      .argument('[src]')
      .argument('[dst]')
      .option('--at <time|seq>', 'answer as of an RFC 3339 time or a log sequence, from the log'),
  ).action(
    async (src: string | undefined, dst: string | undefined, flags: HttpFlags & { at?: string }) => {
      if (!src || !dst) usage('Must specify two arguments: source and destination');
      let allowed = false;
      await guarded('checking the intention', async () => {
        allowed = (await client(flags, io).check(src, dst, flags.at)).Allowed;
      });
      io.stdout(allowed ? 'Allowed\n' : 'Denied\n');
      if (!allowed) throw new CliExit(2);
    },
  );

  withHttpFlags(
    intention
      .command('match')
      .description('Show the intentions that match a destination (or, with -source, a source), highest precedence first')
      .argument('[name]')
      .option('--source', 'match by source')
      .option('--destination', 'match by destination (the default)'),
  ).action(async (name: string | undefined, flags: HttpFlags & { source?: boolean; destination?: boolean }) => {
    if (!name) usage('Must specify a name to match');
    if (flags.source && flags.destination) usage('Only one of -source or -destination may be specified');
    await guarded('matching intentions', async () => {
      const by = flags.source ? 'source' : 'destination';
      const matches = (await client(flags, io).match(by, name))[name] ?? [];
      for (const ixn of matches) io.stdout(`${intentionLine(ixn)}\n`);
    });
  });

  withHttpFlags(intention.command('list').description('List all intentions').option('--at <time|seq>', 'the intentions as of an RFC 3339 time or a log sequence, from the log')).action(async (flags: HttpFlags & { at?: string }) => {
    await guarded('listing intentions', async () => {
      const all = await client(flags, io).list(flags.at);
      if (all.length === 0) {
        io.stdout('There are no intentions.\n');
        return;
      }
      const rows = [['ID', 'Source', 'Action', 'Destination', 'Precedence'], ...all.map((i) => [i.ID, i.SourceName, i.Action, i.DestinationName, String(i.Precedence ?? '')])];
      io.stdout(`${columnize(rows)}\n`);
    });
  });
}
