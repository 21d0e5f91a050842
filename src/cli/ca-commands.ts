import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { CliExit } from './exit.js';
import { client, guarded, withHttpFlags, type HttpFlags } from './intention-commands.js';
import type { CliIo } from './main.js';

/** `trellis ca roots` and `trellis connect ca leaf`: the CA as the agent's HTTP API shows it. */
export function registerCaCommands(program: Command, io: CliIo): void {
  const ca = program.command('ca').description('Inspect the Connect certificate authority');
  withHttpFlags(ca.command('roots').description('Print the CA roots and trust domain (the JSON of /v1/connect/ca/roots)')).action(async (flags: HttpFlags) => {
    await guarded('reading CA roots', async () => {
      io.stdout(`${JSON.stringify(await client(flags, io).caRoots(), null, 2)}\n`);
    });
  });

  const connect = program.command('connect').description('Connect (service mesh) commands');
  const connectCa = connect.command('ca').description('Connect CA commands');
  withHttpFlags(
    connectCa
      .command('leaf')
      .description("Write a service's leaf certificate, its chain and its private key (mode 0600) to a directory")
      .argument('[service]')
      .option('--out-dir <dir>', 'where to write <service>.pem, <service>-chain.pem and <service>-key.pem', '.'),
  ).action(async (service: string | undefined, flags: HttpFlags & { outDir: string }) => {
    if (!service) throw new CliExit(1, 'Must specify a service name');
    await guarded('fetching the leaf certificate', async () => {
      const leaf = await client(flags, io).leaf(service);
      const [cert = '', ...chain] = leaf.CertPEM.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/g) ?? [];
      mkdirSync(flags.outDir, { recursive: true });
      const keyPath = join(flags.outDir, `${service}-key.pem`);
      writeFileSync(keyPath, leaf.PrivateKeyPEM, { mode: 0o600 });
      chmodSync(keyPath, 0o600);
      writeFileSync(join(flags.outDir, `${service}.pem`), cert);
      writeFileSync(join(flags.outDir, `${service}-chain.pem`), chain.join(''));
      io.stdout(`Wrote ${service}.pem, ${service}-chain.pem and ${service}-key.pem (0600) to ${flags.outDir}: ${leaf.ServiceURI}, serial ${leaf.SerialNumber}, valid until ${leaf.ValidBefore}\n`);
    });
  });
}
