// The web app reaches the insights API through its own origin: /api/v1/insights/* is
// passed to the insights service (PFM_INSIGHTS_URL) with the reader's own token, so the
// page's CSP stays "connect-src 'self'" and the insights service itself checks the
// token, the role and the scope of every read and writes its audit line. Only the
// path, the query, the token and a JSON body go through; no cookie, no other header.
import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from '@pfm/observability';

/** Headers of the insights answer passed back to the browser. */
const PASSED_BACK = ['content-type', 'content-disposition', 'retry-after'];

export function insightsProxy(app: FastifyInstance, insightsUrl: string | undefined, logger: Logger, timeoutMs = 60_000): void {
  const forward = async (req: FastifyRequest, reply: FastifyReply) => {
    if (!insightsUrl) return reply.code(503).send({ error: 'insights_unavailable', message: 'Insights are not set up on this board (PFM_INSIGHTS_URL).' });
    const target = new URL(req.url, insightsUrl);
    const headers: Record<string, string> = { accept: String(req.headers.accept ?? 'application/json') };
    if (typeof req.headers.authorization === 'string') headers.authorization = req.headers.authorization;
    let body: string | undefined;
    if (req.method === 'POST') {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(req.body ?? {});
    }
    let res: Response;
    try {
      res = await fetch(target, { method: req.method, headers, body, signal: AbortSignal.timeout(timeoutMs), redirect: 'manual' });
    } catch (err) {
      logger.warn({ err, path: target.pathname }, 'the insights service did not answer');
      return reply.code(502).send({ error: 'insights_unavailable', message: 'The insights service did not answer; try again shortly.' });
    }
    reply.code(res.status);
    for (const h of PASSED_BACK) {
      const v = res.headers.get(h);
      if (v) reply.header(h, v);
    }
    return reply.send(res.body ? Readable.fromWeb(res.body as import('node:stream/web').ReadableStream) : '');
  };
  app.get('/api/v1/insights/*', forward);
  app.post('/api/v1/insights/*', forward);
}
