import type { Command } from 'commander';
import { createLogger, errorMessage } from '../common/index.js';
import { readAgentFile, resolveAgentConfig, startAgent, type AgentFileConfig } from '../agent/index.js';
import { CliExit } from './exit.js';
import { shutdownSignal } from './signals.js';
import type { CliIo } from './main.js';

interface AgentFlags {
  configFile?: string[];
  datacenter?: string;
  primaryDatacenter?: string;
  dataDir?: string;
  client?: string;
  httpPort?: string;
  natsUrl?: string;
  defaultIntentionPolicy?: string;
  logLevel?: string;
  rebuild?: boolean;
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

/** `trellis agent`: one datacenter's agent, configured like Consul's (JSON file, flags override). */
export function registerAgentCommand(program: Command, io: CliIo): void {
  program
    .command('agent')
    .description('Run a trellis agent for one datacenter (the primary when datacenter = primary_datacenter)')
    .option('--config-file <path>', 'JSON configuration file (repeatable; later files win)', collect)
    .option('--datacenter <name>', 'this agent\'s datacenter')
    .option('--primary-datacenter <name>', 'the primary datacenter (default: this one)')
    .option('--data-dir <dir>', 'where the view and keys are kept')
    .option('--client <addr>', 'address the HTTP API binds to (default 127.0.0.1)')
    .option('--http-port <port>', 'HTTP API port (default 8500)')
    .option('--nats-url <url>', "this datacenter's nats-server (default nats://127.0.0.1:4222)")
    .option('--default-intention-policy <allow|deny>', 'answer when no intention matches (default deny)')
    .option('--log-level <level>', 'trace, debug, info, warn or error (default info)')
    .option('--rebuild', 'discard the local view and rebuild it from the event log')
    .action(async (flags: AgentFlags) => {
      let config;
      try {
        const files = (flags.configFile ?? []).map(readAgentFile);
        const httpPort = flags.httpPort === undefined ? undefined : Number(flags.httpPort);
        const overrides = {
          datacenter: flags.datacenter,
          primary_datacenter: flags.primaryDatacenter,
          data_dir: flags.dataDir,
          addresses: flags.client === undefined ? undefined : { http: flags.client },
          ports: httpPort === undefined ? undefined : { http: httpPort },
          nats: flags.natsUrl === undefined ? undefined : { url: flags.natsUrl },
          default_intention_policy: flags.defaultIntentionPolicy,
          log_level: flags.logLevel,
        };
        const defined = Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined)) as AgentFileConfig;
        config = resolveAgentConfig(files, defined);
      } catch (err) {
        throw new CliExit(1, `==> ${errorMessage(err)}`);
      }
      const logger = createLogger({ level: config.logLevel });
      let agent;
      try {
        agent = await startAgent(config, { logger, collectProcessMetrics: true, ...(flags.rebuild ? { rebuild: true } : {}) });
      } catch (err) {
        logger.fatal({ err: errorMessage(err) }, 'agent failed to start');
        throw new CliExit(1, `==> agent failed to start: ${errorMessage(err)}`);
      }
      io.stdout(`==> trellis agent running: datacenter ${config.datacenter} (primary ${config.primaryDatacenter}), HTTP ${agent.httpUrl}\n`);
      const signal = await shutdownSignal();
      logger.info({ signal }, 'shutting down');
      await agent.stop();
    });
}
