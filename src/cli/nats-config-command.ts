import type { Command } from 'commander';
import { resolve } from 'node:path';
import { errorMessage } from '../common/index.js';
import { writeDeployment } from '../natsd/deployment.js';
import { datacenterListSchema } from './dev-command.js';
import { CliExit } from './exit.js';
import type { CliIo } from './main.js';

interface NatsConfigFlags {
  datacenters?: string;
  out?: string;
  host?: string;
  tlsDir?: string;
}

/** `trellis nats-config`: every datacenter's nats-server configuration and credentials for real hosts. */
export function registerNatsConfigCommand(program: Command, io: CliIo): void {
  program
    .command('nats-config')
    .description("Write each datacenter's nats-server.conf (users, permissions, TLS, leafnodes) and its agent, reader credentials files")
    .option('--datacenters <list>', 'comma-separated datacenters; the first is the primary', 'dc1,dc2')
    .option('--out <dir>', 'where to write <dc>/nats-server.conf and <dc>/*-credentials.json', 'nats-config')
    .option('--host <pattern>', 'host name of a datacenter\'s nats-server; {dc} is replaced', '{dc}-nats.example.internal')
    .option('--tls-dir <dir>', 'where ca.pem, server.pem and server-key.pem will be on every server (your own CA)', '/etc/nats-server')
    .action((flags: NatsConfigFlags) => {
      const parsed = datacenterListSchema.safeParse(flags.datacenters ?? '');
      if (!parsed.success) throw new CliExit(1, `-datacenters: ${parsed.error.issues.map((i) => i.message).join('; ')}`);
      const datacenters = parsed.data;
      const tlsDir = flags.tlsDir ?? '/etc/nats-server';
      const host = flags.host ?? '{dc}-nats.example.internal';
      try {
        const files = writeDeployment({
          datacenters,
          hostOf: (dc) => host.replaceAll('{dc}', dc),
          tls: { caFile: `${tlsDir}/ca.pem`, certFile: `${tlsDir}/server.pem`, keyFile: `${tlsDir}/server-key.pem` },
          out: resolve(flags.out ?? 'nats-config'),
        });
        for (const f of files) io.stdout(`${f}\n`);
        io.stdout('Install <dc>/nats-server.conf as /etc/nats-server.conf on each server; give each agent its agent-credentials.json (nats.credentials_file). Every file is 0600: keep it so.\n');
      } catch (err) {
        throw new CliExit(1, `Error writing the NATS configuration: ${errorMessage(err)}`);
      }
    });
}
