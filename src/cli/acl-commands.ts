import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { AclPolicy, AclToken, ApiClient } from './api-client.js';
import { CliExit } from './exit.js';
import { client, guarded, withHttpFlags, type HttpFlags } from './intention-commands.js';
import type { CliIo } from './main.js';

const collect = (value: string, previous: string[] = []) => [...previous, value];

/** Consul's `-rules` convention: `@file` reads a file, `-` reads stdin, anything else is the rules. */
function rulesFrom(value: string | undefined): string {
  if (value === undefined) return '';
  if (value === '-') return readFileSync(0, 'utf8');
  if (value.startsWith('@')) {
    try {
      return readFileSync(value.slice(1), 'utf8');
    } catch (err) {
      throw new CliExit(1, `Error loading rules: ${(err as Error).message}`);
    }
  }
  return value;
}

/** Consul's policy printout. */
function printPolicy(p: AclPolicy, io: CliIo, format: string | undefined): void {
  if (format === 'json') {
    io.stdout(`${JSON.stringify(p, null, 4)}\n`);
    return;
  }
  io.stdout(`ID:           ${p.ID}\nName:         ${p.Name}\nDescription:  ${p.Description}\nDatacenters:  ${(p.Datacenters ?? []).join(', ')}\n`);
  if (p.Rules !== undefined) io.stdout(`Rules:\n${p.Rules}\n`);
}

/** Consul's token printout. */
function printToken(t: AclToken, io: CliIo, format: string | undefined): void {
  if (format === 'json') {
    io.stdout(`${JSON.stringify(t, null, 4)}\n`);
    return;
  }
  const lines = [
    `AccessorID:       ${t.AccessorID}`,
    `SecretID:         ${t.SecretID}`,
    `Description:      ${t.Description}`,
    `Local:            ${t.Local}`,
    `Create Time:      ${t.CreateTime}`,
    ...(t.ExpirationTime ? [`Expiration Time:  ${t.ExpirationTime}`] : []),
    'Policies:',
    ...t.Policies.map((p) => `   ${p.ID} - ${p.Name}`),
  ];
  io.stdout(`${lines.join('\n')}\n`);
}

type FormatFlags = HttpFlags & { format?: string };

function checkFormat(flags: FormatFlags): void {
  if (flags.format !== undefined && flags.format !== 'pretty' && flags.format !== 'json') throw new CliExit(1, `Invalid format: ${flags.format}`);
}

async function policyId(api: ApiClient, flags: { id?: string; name?: string }): Promise<string> {
  if (flags.id) return flags.id;
  if (flags.name) return (await api.aclPolicyByName(flags.name)).ID;
  throw new CliExit(1, 'Must specify either the -id or -name parameters');
}

/** `trellis acl policy …` and `trellis acl token …`: Consul's commands, flags and printouts (a subset). */
export function registerAclCommands(program: Command, io: CliIo): void {
  const acl = program.command('acl').description('Manage ACL tokens and policies');
  const policy = acl.command('policy').description('Manage ACL policies');
  const token = acl.command('token').description('Manage ACL tokens');
  const withFormat = (cmd: Command) => withHttpFlags(cmd).option('--format <pretty|json>', 'output format', 'pretty');

  withFormat(
    policy
      .command('create')
      .description('Create an ACL policy')
      .option('--name <name>', 'the policy name')
      .option('--description <text>', 'a description')
      .option('--rules <rules>', 'the rules: text, @file, or - for stdin')
      .option('--valid-datacenter <dc>', 'a datacenter the policy applies in (repeatable)', collect),
  ).action(async (flags: FormatFlags & { name?: string; description?: string; rules?: string; validDatacenter?: string[] }) => {
    checkFormat(flags);
    if (!flags.name) throw new CliExit(1, 'Missing require \'-name\' flag');
    const body = { Name: flags.name, Description: flags.description ?? '', Rules: rulesFrom(flags.rules), Datacenters: flags.validDatacenter ?? [] };
    await guarded('creating policy', async () => printPolicy(await client(flags, io).aclPolicyCreate(body), io, flags.format));
  });

  withFormat(policy.command('list').description('List ACL policies')).action(async (flags: FormatFlags) => {
    checkFormat(flags);
    await guarded('listing policies', async () => {
      const list = await client(flags, io).aclPolicies();
      if (flags.format === 'json') io.stdout(`${JSON.stringify(list, null, 4)}\n`);
      else for (const p of list) io.stdout(`${p.Name}:\n   ID:           ${p.ID}\n   Description:  ${p.Description}\n   Datacenters:  ${(p.Datacenters ?? []).join(', ')}\n`);
    });
  });

  withFormat(policy.command('read').description('Read an ACL policy').option('--id <id>', 'the policy ID').option('--name <name>', 'the policy name')).action(
    async (flags: FormatFlags & { id?: string; name?: string }) => {
      checkFormat(flags);
      await guarded('reading policy', async () => {
        const api = client(flags, io);
        printPolicy(await api.aclPolicy(await policyId(api, flags)), io, flags.format);
      });
    },
  );

  withHttpFlags(policy.command('delete').description('Delete an ACL policy').option('--id <id>', 'the policy ID').option('--name <name>', 'the policy name')).action(
    async (flags: HttpFlags & { id?: string; name?: string }) => {
      await guarded('deleting policy', async () => {
        const api = client(flags, io);
        const id = await policyId(api, flags);
        await api.aclPolicyDelete(id);
        io.stdout(`Policy "${id}" deleted successfully\n`);
      });
    },
  );

  withFormat(
    token
      .command('create')
      .description('Create an ACL token')
      .option('--description <text>', 'a description')
      .option('--policy-name <name>', 'a policy to link, by name (repeatable)', collect)
      .option('--policy-id <id>', 'a policy to link, by ID (repeatable)', collect)
      .option('--local', 'a token of this datacenter only')
      .option('--expires-ttl <duration>', 'how long the token lives (e.g. 24h)')
      .option('--accessor <uuid>', 'the AccessorID to use')
      .option('--secret <uuid>', 'the SecretID to use'),
  ).action(
    async (flags: FormatFlags & { description?: string; policyName?: string[]; policyId?: string[]; local?: boolean; expiresTtl?: string; accessor?: string; secret?: string }) => {
      checkFormat(flags);
      const body = {
        Description: flags.description ?? '',
        Policies: [...(flags.policyId ?? []).map((ID) => ({ ID })), ...(flags.policyName ?? []).map((Name) => ({ Name }))],
        Local: flags.local === true,
        ...(flags.expiresTtl ? { ExpirationTTL: flags.expiresTtl } : {}),
        ...(flags.accessor ? { AccessorID: flags.accessor } : {}),
        ...(flags.secret ? { SecretID: flags.secret } : {}),
      };
      await guarded('creating token', async () => printToken(await client(flags, io).aclTokenCreate(body), io, flags.format));
    },
  );

  withFormat(token.command('list').description('List ACL tokens')).action(async (flags: FormatFlags) => {
    checkFormat(flags);
    await guarded('listing tokens', async () => {
      const list = await client(flags, io).aclTokens();
      if (flags.format === 'json') io.stdout(`${JSON.stringify(list, null, 4)}\n`);
      else
        for (const t of list) {
          printToken(t, io, flags.format);
          io.stdout('\n');
        }
    });
  });

  withFormat(token.command('read').description('Read an ACL token').option('--id <accessor>', 'the AccessorID').option('--self', 'the token this command runs with')).action(
    async (flags: FormatFlags & { id?: string; self?: boolean }) => {
      checkFormat(flags);
      if (!flags.id && !flags.self) throw new CliExit(1, 'Must specify the -id parameter');
      await guarded('reading token', async () => {
        const api = client(flags, io);
        printToken(flags.self ? await api.aclTokenSelf() : await api.aclToken(flags.id ?? ''), io, flags.format);
      });
    },
  );

  withHttpFlags(token.command('delete').description('Delete an ACL token').option('--id <accessor>', 'the AccessorID')).action(async (flags: HttpFlags & { id?: string }) => {
    if (!flags.id) throw new CliExit(1, 'Must specify the -id parameter');
    await guarded('deleting token', async () => {
      await client(flags, io).aclTokenDelete(flags.id ?? '');
      io.stdout(`Token "${flags.id}" deleted successfully\n`);
    });
  });
}
