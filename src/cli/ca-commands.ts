import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { CliExit } from './exit.js';
import { client, guarded, withHttpFlags, type HttpFlags } from './intention-commands.js';
import type { CliIo } from './main.js';
import { registerProxyCommand } from './proxy-command.js';

/** Reads a CA configuration file for set-config, as Consul's `connect ca set-config` does. */
function readConfigFile(path: string | undefined): unknown {
  if (!path) throw new CliExit(1, 'The -config-file flag is required');
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new CliExit(1, `Error reading config file: ${(err as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new CliExit(1, `Error parsing the config file: ${(err as Error).message}`);
  }
}

/** get-config and set-config, under `trellis ca` and, as Consul spells them, `trellis connect ca`. */
function registerConfigCommands(parent: Command, io: CliIo): void {
  withHttpFlags(parent.command('get-config').description('Print the CA configuration (the JSON of /v1/connect/ca/configuration)')).action(async (flags: HttpFlags) => {
    await guarded('reading the CA configuration', async () => {
      io.stdout(`${JSON.stringify(await client(flags, io).caConfiguration(), null, 2)}\n`);
    });
  });
  withHttpFlags(
    parent
      .command('set-config')
      .description('Replace the CA configuration from a JSON file ({"Provider": "consul", "Config": {...}}); a new key type or size rotates the root')
      .option('--config-file <file>', 'the JSON file with the new configuration'),
  ).action(async (flags: HttpFlags & { configFile?: string }) => {
    const body = readConfigFile(flags.configFile);
    await guarded('setting CA configuration', async () => {
      await client(flags, io).setCaConfiguration(body);
      io.stdout('Configuration updated!\n');
    });
  });
}

/** `trellis ca …` and `trellis connect ca …`: the CA as the agent's HTTP API shows and changes it. */
export function registerCaCommands(program: Command, io: CliIo): void {
  const ca = program.command('ca').description('Inspect and configure the Connect certificate authority');
  withHttpFlags(ca.command('roots').description('Print the CA roots and trust domain (the JSON of /v1/connect/ca/roots)')).action(async (flags: HttpFlags) => {
    await guarded('reading CA roots', async () => {
      io.stdout(`${JSON.stringify(await client(flags, io).caRoots(), null, 2)}\n`);
    });
  });
  registerConfigCommands(ca, io);
  withHttpFlags(ca.command('rotate').description('Rotate to a new root of the configured key type, cross-signed by the current root (applied at the primary)')).action(
    async (flags: HttpFlags) => {
      await guarded('rotating the CA root', async () => {
        const { ActiveRootID, Index } = await client(flags, io).rotateCa();
        io.stdout(`Rotated: the active root is now ${ActiveRootID} (index ${Index}); the previous root stays published for 2 x LeafCertTTL\n`);
      });
    },
  );

  const connect = program.command('connect').description('Connect (service mesh) commands');
  const connectCa = connect.command('ca').description('Connect CA commands');
  registerConfigCommands(connectCa, io);
  registerProxyCommand(connect, io);
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
