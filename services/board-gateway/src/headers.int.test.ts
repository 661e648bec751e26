/** @pfm-stack none */
// The gateway's security headers on a real loopback server (what a browser receives).
import type { AddressInfo } from 'node:net';
import Fastify from 'fastify';
import { CONTENT_SECURITY_POLICY, securityHeaders } from './headers';

it('every answer carries CSP with frame-ancestors none, no-referrer and nosniff; API answers are not cached', async () => {
  const app = Fastify();
  securityHeaders(app);
  app.get('/api/v1/wards', async () => []);
  app.get('/', async () => 'page');
  await app.listen({ port: 0, host: '127.0.0.1' });
  try {
    const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    const api = await fetch(`${base}/api/v1/wards`);
    const page = await fetch(`${base}/`);
    for (const r of [api, page]) {
      expect(r.headers.get('content-security-policy')).toBe(CONTENT_SECURITY_POLICY);
      expect(r.headers.get('referrer-policy')).toBe('no-referrer');
      expect(r.headers.get('x-content-type-options')).toBe('nosniff');
      expect(r.headers.get('x-frame-options')).toBe('DENY');
    }
    expect(CONTENT_SECURITY_POLICY).toContain("frame-ancestors 'none'");
    expect(api.headers.get('cache-control')).toBe('no-store');
    expect(page.headers.get('cache-control')).toBeNull();
  } finally {
    await app.close();
  }
});
