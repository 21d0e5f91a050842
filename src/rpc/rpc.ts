import { Decoder, Encoder } from '@msgpack/msgpack';
import { NoRespondersError, TimeoutError, type Msg, type NatsConnection, type Subscription } from '@nats-io/nats-core';
import { Histogram, type Registry } from 'prom-client';
import { TrellisError, errorMessage, isTrellisError, type Logger, type TrellisErrorCode } from '../common/index.js';
import { rpcCaller, rpcServeSubject, rpcSubject } from '../events/index.js';

const encoder = new Encoder({ ignoreUndefined: true });
const decoder = new Decoder();

type Reply = { readonly ok: true; readonly result: unknown } | { readonly ok: false; readonly error: { readonly code: TrellisErrorCode; readonly message: string } };

/** A callee that did not answer: `reason` says how (no responders, or no answer in time). */
export class RpcUnreachableError extends TrellisError {
  readonly callee: string;
  readonly reason: string;
  constructor(callee: string, reason: string, cause: unknown) {
    super('E_DATACENTER_UNREACHABLE', `datacenter ${callee} is unreachable (${reason})`, { cause });
    this.callee = callee;
    this.reason = reason;
  }
}

export type RpcHandler = (payload: unknown, caller: string) => Promise<unknown>;

export interface RpcServer {
  /** Serves `trellis.rpc.<this-dc>.<service>.<verb>.*`; the caller is the subject's last token. */
  serve(service: string, verb: string, handler: RpcHandler): void;
  close(): Promise<void>;
}

export interface RpcClient {
  /** Calls `trellis.rpc.<callee>.<service>.<verb>.<this-dc>`; a failure comes back as the callee's TrellisError. */
  call<T>(callee: string, service: string, verb: string, payload: unknown, options?: { timeoutMs?: number }): Promise<T>;
}

export interface RpcDeps {
  readonly nc: NatsConnection;
  /** This agent's datacenter. */
  readonly datacenter: string;
  readonly logger: Logger;
  readonly registry?: Registry;
}

function rpcLatency(registry: Registry | undefined, name: string, help: string) {
  return new Histogram({
    name,
    help,
    labelNames: ['service', 'verb', 'peer', 'outcome'],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 2.5],
    registers: registry ? [registry] : [],
  });
}

export function createRpcServer({ nc, datacenter, logger, registry }: RpcDeps): RpcServer {
  const log = logger.child({ component: 'rpc-server' });
  const latency = rpcLatency(registry, 'trellis_rpc_server_seconds', 'Time to answer an RPC, by service, verb and caller');
  const subs: Subscription[] = [];

  async function answer(msg: Msg, service: string, verb: string, handler: RpcHandler): Promise<void> {
    const caller = rpcCaller(msg.subject);
    const started = performance.now();
    let reply: Reply;
    try {
      const payload = msg.data.length ? decoder.decode(msg.data) : undefined;
      reply = { ok: true, result: await handler(payload, caller) };
    } catch (err) {
      const code: TrellisErrorCode = isTrellisError(err) ? err.code : 'E_INTERNAL';
      if (code === 'E_INTERNAL') log.error({ err: errorMessage(err), service, verb, caller }, 'rpc handler failed');
      reply = { ok: false, error: { code, message: errorMessage(err) } };
    }
    latency.observe({ service, verb, peer: caller, outcome: reply.ok ? 'ok' : reply.error.code }, (performance.now() - started) / 1000);
    if (msg.reply) msg.respond(encoder.encode(reply));
  }

  return {
    serve(service, verb, handler) {
      const sub = nc.subscribe(rpcServeSubject(datacenter, service, verb), {
        queue: `trellis-${datacenter}`,
        callback: (err, msg) => {
          if (err) {
            log.warn({ err: errorMessage(err), service, verb }, 'rpc subscription error');
            return;
          }
          void answer(msg, service, verb, handler);
        },
      });
      subs.push(sub);
    },
    async close() {
      await Promise.all(subs.map((s) => s.drain().catch(() => undefined)));
    },
  };
}

/** nats.js reports "no responders" as a RequestError caused by NoRespondersError: walk the causes. */
export function isNoResponders(err: unknown): boolean {
  for (let e = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) if (e instanceof NoRespondersError) return true;
  return false;
}

function isTimeout(err: unknown): boolean {
  for (let e = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) if (e instanceof TimeoutError) return true;
  return false;
}

export function createRpcClient({ nc, datacenter, registry }: RpcDeps): RpcClient {
  const latency = rpcLatency(registry, 'trellis_rpc_client_seconds', 'Round-trip time of RPCs this agent made, by service, verb and callee');
  return {
    async call<T>(callee: string, service: string, verb: string, payload: unknown, options: { timeoutMs?: number } = {}): Promise<T> {
      const timeoutMs = options.timeoutMs ?? 2000;
      const started = performance.now();
      let msg: Msg;
      try {
        msg = await nc.request(rpcSubject(callee, service, verb, datacenter), encoder.encode(payload), { timeout: timeoutMs });
      } catch (err) {
        const outcome = isNoResponders(err) ? 'no_responders' : isTimeout(err) ? 'timeout' : 'error';
        latency.observe({ service, verb, peer: callee, outcome }, (performance.now() - started) / 1000);
        const why = outcome === 'no_responders' ? 'no agent answers there' : outcome === 'timeout' ? `no answer within ${timeoutMs} ms` : errorMessage(err);
        throw new RpcUnreachableError(callee, why, err);
      }
      const reply = decoder.decode(msg.data) as Reply;
      latency.observe({ service, verb, peer: callee, outcome: reply.ok ? 'ok' : reply.error.code }, (performance.now() - started) / 1000);
      if (reply.ok) return reply.result as T;
      throw new TrellisError(reply.error.code, reply.error.message);
    },
  };
}
