import type { FastifyInstance } from 'fastify';
import { TrellisError } from '../../common/index.js';
import type { ApiContext } from '../server.js';

export function registerAgentRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.get('/v1/agent/self', async () => ({
    Config: {
      Datacenter: ctx.datacenter,
      PrimaryDatacenter: ctx.primaryDatacenter,
      NodeName: ctx.nodeName,
      Server: true,
      Version: '0.1.0',
      Product: 'trellis',
    },
    Member: { Name: ctx.nodeName, Tags: { dc: ctx.datacenter, role: 'consul' } },
    Meta: {},
  }));

  app.get('/v1/agent/metrics', async (request, reply) => {
    const format = (request.query as Record<string, unknown>).format;
    if (format !== undefined && format !== 'prometheus') {
      throw new TrellisError('E_VALIDATION', `Unsupported metrics format ${JSON.stringify(format)}: use format=prometheus`);
    }
    if (format === undefined) return ctx.registry.getMetricsAsJSON();
    void reply.type(ctx.registry.contentType);
    return ctx.registry.metrics();
  });
}
