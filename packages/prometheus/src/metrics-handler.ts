import type { IncomingMessage, ServerResponse } from 'node:http';
import { register as defaultRegister, type Registry } from 'prom-client';

export interface MetricsHandlerOptions {
  /**
   * The path served (query strings are ignored); other paths get 404. Default `'/metrics'`.
   * `false` serves the metrics on every path, for mounting under a router's own path.
   */
  readonly path?: string | false;
}

/**
 * A request handler for Node's `http` that serves a prom-client registry in Prometheus's text
 * format: `http.createServer(metricsHandler()).listen(9464)`. GET and HEAD only.
 * In Express: `app.get('/metrics', metricsHandler())`. In Fastify:
 * `app.get('/metrics', (req, reply) => { reply.hijack(); return metricsHandler()(req.raw, reply.raw); })`.
 */
export function metricsHandler(
  register: Registry = defaultRegister,
  options: MetricsHandlerOptions = {},
): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  const path = options.path ?? '/metrics';
  return async (req, res) => {
    const url = req.url ?? '/';
    const query = url.indexOf('?');
    const pathname = query === -1 ? url : url.slice(0, query);
    if (path !== false && pathname !== path) {
      res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' }).end('Not found\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { 'Content-Type': 'text/plain; charset=utf-8', Allow: 'GET, HEAD' }).end();
      return;
    }
    let body: string;
    try {
      body = await register.metrics();
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      res
        .writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' })
        .end(`Collecting metrics failed: ${message}\n`);
      return;
    }
    res.writeHead(200, {
      'Content-Type': register.contentType,
      'Content-Length': Buffer.byteLength(body),
      'Cache-Control': 'no-store',
    });
    res.end(req.method === 'HEAD' ? undefined : body);
  };
}
