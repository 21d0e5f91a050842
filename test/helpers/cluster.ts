import { join } from 'node:path';
import { silentLogger, type Logger } from '../../src/common/index.js';
import { resolveAgentConfig, startAgent, type Agent, type AgentFileConfig } from '../../src/agent/index.js';
import { startNats, type TestNats } from './nats.js';
import { makeTempDir } from './temp.js';

export interface TestCluster {
  readonly nats: TestNats;
  readonly dir: string;
  agent(dc: string): Agent;
  /** Stops and starts a datacenter's agent again on the same data directory. */
  restartAgent(dc: string): Promise<Agent>;
  stopAgent(dc: string): Promise<void>;
  startAgentFor(dc: string): Promise<Agent>;
  stop(): Promise<void>;
}

export interface TestClusterOptions {
  readonly datacenters?: readonly string[];
  readonly defaultIntentionPolicy?: 'allow' | 'deny';
  readonly logger?: Logger;
  /** One clock for every agent's CA, so a test can move time past half-lives and TTLs. */
  readonly caClock?: () => number;
  /** Extra configuration-file keys per datacenter (say, `connect.ca_config` for the primary). */
  readonly fileConfig?: (dc: string) => AgentFileConfig;
}

/** Real nats-servers (hub + leafnodes) and one in-process agent per datacenter, HTTP on free ports. */
export async function startCluster(options: TestClusterOptions = {}): Promise<TestCluster> {
  const datacenters = options.datacenters ?? ['dc1', 'dc2'];
  const primary = datacenters[0] ?? 'dc1';
  const logger = options.logger ?? silentLogger();
  const dir = makeTempDir('trellis-cluster-');
  const nats = await startNats({ datacenters: [...datacenters] });
  const agents = new Map<string, Agent>();

  async function startAgentFor(dc: string): Promise<Agent> {
    const server = nats.servers.get(dc);
    if (!server) throw new Error(`no nats-server for ${dc}`);
    const config = resolveAgentConfig(options.fileConfig ? [options.fileConfig(dc)] : [], {
      datacenter: dc,
      primary_datacenter: primary,
      data_dir: join(dir, dc),
      ports: { http: 0, dns: 0 },
      nats: { url: server.url, credentials_file: nats.access.get(dc)!.agent.file },
      default_intention_policy: options.defaultIntentionPolicy ?? 'deny',
    });
    const agent = await startAgent(config, { logger, ...(options.caClock ? { caClock: options.caClock } : {}) });
    agents.set(dc, agent);
    return agent;
  }

  for (const dc of datacenters) await startAgentFor(dc);
  return {
    nats,
    dir,
    agent(dc) {
      const a = agents.get(dc);
      if (!a) throw new Error(`no agent for ${dc}`);
      return a;
    },
    async restartAgent(dc) {
      await agents.get(dc)?.stop();
      agents.delete(dc);
      return startAgentFor(dc);
    },
    async stopAgent(dc) {
      await agents.get(dc)?.stop();
      agents.delete(dc);
    },
    startAgentFor,
    async stop() {
      for (const a of agents.values()) await a.stop();
      agents.clear();
      await nats.stop();
    },
  };
}

/** A small JSON-over-HTTP client for tests: status, headers and parsed body. */
export async function http(
  base: string,
  method: string,
  path: string,
  body?: unknown,
  init: { raw?: string; headers?: Record<string, string> } = {},
): Promise<{ status: number; headers: Headers; body: unknown; text: string }> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: init.headers ?? {},
    ...(init.raw !== undefined ? { body: init.raw } : body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // plain-text error bodies stay text
  }
  return { status: res.status, headers: res.headers, body: parsed, text };
}
