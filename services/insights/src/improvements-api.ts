// The improvement loop's routes on the insights API:
//   POST /api/v1/insights/improvements   record a change (ops, analyst; the body's site in scope)
//       -> an improvement.noted event on the flow log; 202 with the note's id. The
//          warehouse shows it once the consumer has folded the event (usually < 1 s).
//   GET  /api/v1/insights/improvements?site=&measure=
//       -> { notes: [...] } of the token's sites (a ward reader: of its wards), each with its
//          outcome per measure.
// Authentication, the role check for readers, audit and error shapes are api.ts's.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { AuthError, canSeeSite, requireRole, type Claims, type Role } from '@pfm/access';
import type { FlowEvent } from '@pfm/contracts';
import { noteEvent, noteInputSchema, readNotes, type NoteOut } from './improvements';
import type { Catalogue, PopulationRow } from './measures';
import type { Warehouse } from './warehouse';

/** Who may record a change. */
export const NOTE_WRITER_ROLES: readonly Role[] = ['ops', 'analyst'];

export interface ImprovementDeps {
  warehouse: Warehouse;
  catalogue: Catalogue;
  population: PopulationRow[];
  /** Puts the note on the flow log (the service's producer); absent = the API answers 503 to POST. */
  sendNote?: (e: FlowEvent) => Promise<void>;
  now?: () => number;
}

interface Ctx { claims: (req: FastifyRequest) => Claims; audit: (req: FastifyRequest, query: Record<string, string>, points?: number) => void }

export function registerImprovementRoutes(app: FastifyInstance, d: ImprovementDeps, ctx: Ctx): void {
  const input = noteInputSchema(d.catalogue);
  const listQuery = z.strictObject({
    site: z.string().regex(/^[A-Za-z0-9_-]{1,16}$/, 'must be a site code').optional(),
    measure: z.string().max(80).refine((id) => d.catalogue.measures.some((m) => m.id === id), 'unknown measure').optional(),
  });

  app.post('/api/v1/insights/improvements', async (req, reply) => {
    const c = ctx.claims(req);
    const body = (req.body ?? {}) as Record<string, unknown>;
    ctx.audit(req, { site: String(body.site ?? '').slice(0, 16) });
    requireRole(c, NOTE_WRITER_ROLES, 'Recording a change');
    const note = input.parse(body);
    if (!canSeeSite(c, note.site)) throw new AuthError('forbidden', `Your access does not include site ${note.site}.`);
    if (!d.sendNote) return reply.code(503).send({ error: 'unavailable', message: 'This insights service does not write to the flow log.' });
    const e = noteEvent(note, c.sub, (d.now ?? Date.now)());
    await d.sendNote(e);
    ctx.audit(req, { site: note.site, noteId: e.payload.noteId, measures: note.measures.join(',').slice(0, 200) }, 1);
    return reply.code(202).send({ noteId: e.payload.noteId, eventId: e.eventId });
  });

  app.get('/api/v1/insights/improvements', async (req): Promise<{ notes: NoteOut[] }> => {
    const raw = req.query as Record<string, unknown>;
    ctx.audit(req, Object.fromEntries(Object.entries(raw).filter(([k]) => k === 'site' || k === 'measure').map(([k, v]) => [k, String(v).slice(0, 80)])));
    const q = listQuery.parse(raw);
    const c = ctx.claims(req);
    if (q.site && !canSeeSite(c, q.site)) throw new AuthError('forbidden', `Your access does not include site ${q.site}.`);
    const sites = q.site ? [q.site] : c.sites;
    // A ward's staff see the changes made on their wards (a site-wide note's outcome is site data).
    const wards = c.role === 'ward' ? c.wards ?? [] : undefined;
    const notes = await d.warehouse.read((r) => readNotes(r, d.catalogue, d.population, { sites, wards, measure: q.measure }));
    ctx.audit(req, { ...(q.site ? { site: q.site } : {}), ...(q.measure ? { measure: q.measure } : {}) }, notes.length);
    return { notes };
  });
}
