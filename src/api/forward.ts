import type { FastifyReply, FastifyRequest } from 'fastify';
import { requestToken } from './acl.js';
import type { ForwardedRequest, ForwardedResponse } from './server.js';

/**
 * Has another datacenter's agent answer this HTTP request (over NATS request/reply) and relays its
 * answer: status, body, X-Consul-* headers in Consul's spelling. The client's token goes along, so
 * the other agent decides with its own view.
 */
export async function relayTo(
  forward: (dc: string, request: ForwardedRequest) => Promise<ForwardedResponse>,
  dc: string,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<void> {
  const token = requestToken(request);
  const answer = await forward(dc, {
    method: request.method,
    url: request.url,
    ...(request.body === undefined ? {} : { body: JSON.stringify(request.body) }),
    ...(token ? { token } : {}),
  });
  for (const [name, value] of Object.entries(answer.headers)) {
    if (name.startsWith('x-consul-')) reply.raw.setHeader(name.replace(/(^|-)([a-z])/g, (_m, dash: string, c: string) => dash + c.toUpperCase()), value);
    else void reply.header(name, value);
  }
  await reply.code(answer.status).send(answer.body);
}
