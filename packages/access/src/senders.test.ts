import fc from 'fast-check';
import { newSenderKey, parseSenderHeader, scopeErrors, SenderAuthError, SenderRegistry, typeAndSite } from './senders';

const pas = newSenderKey('pas-main');
const epr = newSenderKey('epr');
const registry = new SenderRegistry([
  { id: 'pas-main', keySha256: pas.keySha256, channels: ['json', 'fhir'], types: ['*'], sites: ['RXT'], sourceSystem: 'PAS' },
  { id: 'epr', keySha256: epr.keySha256, channels: ['fhir'], types: ['referral.received'], sites: ['RXT', 'RYY'] },
  { id: 'pas-feed', channels: ['hl7v2'], mllpPeers: ['10.1.2.3'], types: ['*'], sites: ['RXT'] },
]);
const statusOf = (f: () => unknown) => { try { f(); return 'ok'; } catch (e) { return e instanceof SenderAuthError ? e.status : `other: ${String(e)}`; } };

describe('sender keys', () => {
  it('a listed key authenticates its sender on its channels only', () => {
    expect(registry.authenticate(`ApiKey ${pas.key}`, 'json').sourceSystem).toBe('PAS');
    expect(registry.authenticate(`ApiKey ${epr.key}`, 'fhir').sourceSystem).toBe('epr');
    expect(statusOf(() => registry.authenticate(`ApiKey ${epr.key}`, 'json'))).toBe(403);
  });

  it('no header, a wrong key, another sender\'s key under this id, or an unknown id is 401', () => {
    expect(statusOf(() => registry.authenticate(undefined, 'json'))).toBe(401);
    expect(statusOf(() => registry.authenticate(`ApiKey ${newSenderKey('pas-main').key}`, 'json'))).toBe(401);
    expect(statusOf(() => registry.authenticate(`ApiKey pas-main.${epr.key.split('.')[1]}`, 'json'))).toBe(401);
    expect(statusOf(() => registry.authenticate(`ApiKey ${newSenderKey('nobody').key}`, 'json'))).toBe(401);
    expect(statusOf(() => registry.authenticate(`Bearer ${pas.key}`, 'json'))).toBe(401);
    // An MLLP-only sender has no key at all.
    expect(statusOf(() => registry.authenticate(`ApiKey ${newSenderKey('pas-feed').key}`, 'json'))).toBe(401);
  });

  it('an empty registry (no PFM_SENDERS_FILE) lets nobody in', () => {
    expect(statusOf(() => SenderRegistry.fromFile(undefined).authenticate(`ApiKey ${pas.key}`, 'json'))).toBe(401);
  });

  it('MLLP peers are known by address (IPv4-mapped IPv6 too); others are not', () => {
    expect(registry.peer('10.1.2.3')?.id).toBe('pas-feed');
    expect(registry.peer('::ffff:10.1.2.3')?.id).toBe('pas-feed');
    expect(registry.peer('10.1.2.4')).toBeUndefined();
    expect(registry.peer(undefined)).toBeUndefined();
  });

  it('scope: product-only types, unlisted types and other sites are refused with the item\'s path', () => {
    const epr0 = registry.authenticate(`ApiKey ${epr.key}`, 'fhir');
    expect(scopeErrors(epr0, [{ type: 'referral.received', site: 'RYY' }])).toEqual([]);
    expect(scopeErrors(epr0, [{ type: 'patient.admitted', site: 'RXT' }, { type: 'referral.received', site: 'RZZ' }]).map((e) => e.path)).toEqual(['[0].type', '[1].site']);
    const all = registry.authenticate(`ApiKey ${pas.key}`, 'json');
    expect(scopeErrors(all, [{ type: 'alert.acknowledged', site: 'RXT' }, { type: 'park.expired', site: 'RXT' }]).map((e) => e.path)).toEqual(['[0].type', '[1].type']);
  });

  it('a bad sender list is refused at start with every problem', () => {
    expect(() => new SenderRegistry([{ id: 'x y', channels: ['json'], types: ['*'], sites: ['RXT'] }])).toThrow(/id[\s\S]*keySha256/);
    expect(() => new SenderRegistry([{ id: 'a', channels: ['hl7v2'], types: ['*'], sites: ['RXT'] }])).toThrow(/mllpPeers/);
  });

  it('fuzz: the header parser never throws and accepts only well-formed keys; authenticate refuses everything but the real key', () => {
    fc.assert(fc.property(fc.oneof(fc.string({ maxLength: 300 }), fc.string({ maxLength: 100 }).map((s) => `ApiKey ${s}`), fc.constant(`ApiKey ${pas.key}`).chain((k) => fc.nat({ max: k.length - 1 }).map((i) => k.slice(0, i) + (k[i] === 'A' ? 'B' : 'A') + k.slice(i + 1)))), (h) => {
      const p = parseSenderHeader(h);
      if (p) expect(p.key).toMatch(/^[A-Za-z0-9_-]{1,64}\.[A-Za-z0-9_-]{43,128}$/);
      if (h !== `ApiKey ${pas.key}`) expect(statusOf(() => registry.authenticate(h, 'json'))).toBe(401);
    }), { numRuns: 500 });
  });
});

describe('typeAndSite', () => {
  it('passes string types and well-formed site codes to the scope check', () => {
    expect(typeAndSite({ type: 'patient.admitted', site: 'RXT' })).toEqual({ type: 'patient.admitted', site: 'RXT' });
  });
  it('leaves malformed sites (empty, too long, other characters) and non-strings to validation', () => {
    for (const site of ['', 'R X T', 'A'.repeat(17), 'RXT$', 7, null]) expect(typeAndSite({ type: 'x', site })).toEqual({ type: 'x' });
    expect(typeAndSite('RXT')).toEqual({});
  });
});
