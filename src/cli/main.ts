// The composition root: the only place that reads argv and the environment.
import { Command } from 'commander';
import { normalizeConsulFlags } from './argv.js';
import { CliExit } from './exit.js';
import { registerIntentionCommands } from './intention-commands.js';
import { registerAgentCommand } from './agent-command.js';
import { registerDevCommand } from './dev-command.js';
import { registerCaCommands } from './ca-commands.js';
import { registerAuditCommands } from './audit-commands.js';
import { registerReplayCommand } from './replay-command.js';
import { registerNatsConfigCommand } from './nats-config-command.js';
import { registerAclCommands } from './acl-commands.js';

export interface CliIo {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
}

export function buildProgram(io: CliIo): Command {
  const program = new Command('trellis')
    .description('Multi-datacenter intentions and Connect CA, event-sourced over NATS JetStream (Consul-compatible)')
    .showHelpAfterError()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr });
  registerAgentCommand(program, io);
  registerDevCommand(program, io);
  registerIntentionCommands(program, io);
  registerCaCommands(program, io);
  registerAuditCommands(program, io);
  registerReplayCommand(program, io);
  registerNatsConfigCommand(program, io);
  registerAclCommands(program, io);
  return program;
}

/** Runs the CLI; resolves to the process exit code. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const program = buildProgram(io);
  program.exitOverride();
  try {
    await program.parseAsync(normalizeConsulFlags(argv), { from: 'user' });
    return 0;
  } catch (err) {
    if (err instanceof CliExit) {
      if (err.message) io.stderr(`${err.message}\n`);
      return err.exitCode;
    }
    const code = (err as { exitCode?: unknown }).exitCode;
    if (typeof code === 'number') return code;
    io.stderr(`Error: ${(err as Error).message}\n`);
    return 1;
  }
}

const isMain = process.argv[1] !== undefined && /(?:main\.[jt]s|trellis(?:\.js)?)$/.test(process.argv[1]);
if (isMain) {
  const code = await runCli(process.argv.slice(2), {
    env: process.env,
    stdout: (t) => process.stdout.write(t),
    stderr: (t) => process.stderr.write(t),
  });
  process.exitCode = code;
}
