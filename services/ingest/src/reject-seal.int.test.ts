/** @pfm-stack kafka registry */
// Raw rejected input encrypted at rest, on the real stack: the record in the rejects
// topic holds the input sealed with its key id; an instance holding the key (rotated or
// not) shows and re-drives it; one without the key can neither read nor re-drive it; a
// production ingest does not start without keys.
import { randomBytes } from 'node:crypto';
import type { Reject } from '@pfm/contracts';
import { waitFor } from '@pfm/testkit';
import { startTestIngest, type IngestUnderTest } from './testing/ingest-under-test';
import { TopicReader } from './testing/topic-reader';

const k1 = `k1:${randomBytes(32).toString('base64')}`;
const k2 = `k2:${randomBytes(32).toString('base64')}`;

describe('rejects sealed at rest', () => {
  let t: IngestUnderTest;
  let rejectId: string;
  beforeAll(async () => {
    t = await startTestIngest({ PFM_REJECTS_KEYS: k1 }, 'opssec-seal');
    const r = await fetch(`${t.ingest.httpUrl}/v1/events`, {
      method: 'POST', headers: { 'content-type': 'application/json', authorization: t.access.header },
      body: JSON.stringify({ type: 'patient.admitted', occurredAt: 'soon', site: 'RXT', patientId: 'SMITH-9434765919', payload: { spellId: 'S1', ward: 'OAK', initials: 'JS' } }),
    });
    expect(r.status).toBe(422);
    rejectId = ((await r.json()) as { rejected: { rejectId: string }[] }).rejected[0]!.rejectId;
  });
  afterAll(async () => { await t?.stop(); });

  const read = async (u: IngestUnderTest, path: string, init: RequestInit = {}) => {
    const r = await fetch(`${u.ingest.httpUrl}${path}`, { ...init, headers: { authorization: `Bearer ${await u.access.token()}`, ...(init.headers as Record<string, string> | undefined) } });
    return { status: r.status, body: (await r.json()) as Record<string, unknown> };
  };

  it('the topic holds the raw input sealed, with its key id', async () => {
    const reader = await TopicReader.rejects(t.kafka, t.ingest.topics.ingestRejects);
    try {
      const stored = await waitFor(() => reader.items.find((x: Reject) => x.rejectId === rejectId), { what: 'the reject in the topic' });
      expect(stored.sealed).toEqual({ alg: 'A256GCM', kid: 'k1' });
      expect(stored.raw).not.toMatch(/SMITH|9434765919/);
      expect(Buffer.from(stored.raw, 'base64').toString('latin1')).not.toMatch(/SMITH|9434765919/);
    } finally {
      await reader.stop();
    }
  });

  it('another instance holding the key (after rotation) reads it; one without the key can neither read nor re-drive it', async () => {
    const rotated = await startTestIngest({ PFM_TOPIC_NAMESPACE: t.config.PFM_TOPIC_NAMESPACE, PFM_REJECTS_KEYS: `${k2},${k1}` });
    const keyless = await startTestIngest({ PFM_TOPIC_NAMESPACE: t.config.PFM_TOPIC_NAMESPACE });
    try {
      const opened = await waitFor(async () => { const r = await read(rotated, `/v1/rejects/${rejectId}`); return r.status === 200 ? r.body : undefined; }, { what: 'the reject at the rotated instance' });
      expect(opened.raw).toContain('SMITH-9434765919');
      expect(opened.sealed).toBeUndefined();
      const sealed = await waitFor(async () => { const r = await read(keyless, `/v1/rejects/${rejectId}`); return r.status === 200 ? r.body : undefined; }, { what: 'the reject at the keyless instance' });
      expect(sealed.sealed).toEqual({ alg: 'A256GCM', kid: 'k1' });
      expect(String(sealed.raw)).not.toMatch(/SMITH|9434765919/);
      const redrive = await read(keyless, `/v1/rejects/${rejectId}/redrive`, { method: 'POST' });
      expect(redrive).toMatchObject({ status: 409, body: { error: 'sealed' } });
    } finally {
      await rotated.stop({ keepTopics: true });
      await keyless.stop({ keepTopics: true });
    }
  });

  it('a production ingest does not start without keys', async () => {
    await expect(startTestIngest({ PFM_ENV: 'production' })).rejects.toThrow(/PFM_REJECTS_KEYS is required in production/);
  });
});
