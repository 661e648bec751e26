// The learning log's calls through the gateway: every change with its outcome so far, and
// recording one (POST; the insights service puts it on the flow log and answers 202).
import { AuthError, HttpError } from '../api';
import type { ImprovementNote } from '../insights/api';

export class NoteRefused extends Error {
  constructor(readonly status: number, readonly errors: { field: string; message: string }[], message: string) {
    super(message);
    this.name = 'NoteRefused';
  }
}

export class LearningApi {
  constructor(private readonly token: string, private readonly base: string = document.baseURI) {}

  private headers(json = false): Record<string, string> {
    return { Authorization: `Bearer ${this.token}`, Accept: 'application/json', ...(json ? { 'Content-Type': 'application/json' } : {}) };
  }

  /** Every note of the reader's sites (or one site), newest first as the API sends them. */
  async notes(site?: string, signal?: AbortSignal): Promise<ImprovementNote[]> {
    const url = new URL(`api/v1/insights/improvements${site ? `?site=${encodeURIComponent(site)}` : ''}`, this.base);
    const res = await fetch(url, { headers: this.headers(), signal: signal ?? null, cache: 'no-store' });
    if (res.status === 401) throw new AuthError(401);
    if (!res.ok) {
      const body = (await res.json().catch(() => ({}))) as { message?: string };
      throw new HttpError(res.status, body.message ?? `${res.status} ${res.statusText}`);
    }
    return ((await res.json()) as { notes: ImprovementNote[] }).notes;
  }

  /** Records a change; a refusal comes back as NoteRefused with the API's field errors. */
  async record(body: Record<string, unknown>): Promise<{ noteId: string }> {
    const res = await fetch(new URL('api/v1/insights/improvements', this.base), { method: 'POST', headers: this.headers(true), body: JSON.stringify(body), cache: 'no-store' });
    if (res.status === 401) throw new AuthError(401);
    const out = (await res.json().catch(() => ({}))) as { noteId?: string; message?: string; errors?: { field: string; message: string }[] };
    if (res.status !== 202 || !out.noteId) throw new NoteRefused(res.status, out.errors ?? [], out.message ?? `The note was not recorded (${res.status}).`);
    return { noteId: out.noteId };
  }
}
