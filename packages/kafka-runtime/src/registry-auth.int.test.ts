/** @pfm-stack registry */
// The schema registry is closed too (infra/schema-registry: HTTP basic auth against the
// registry's own users, Apicurio's role-based authorization), met on the real registry of
// the stack: no answer without a login or with a wrong password, a read-only principal
// cannot register a schema, and the product's clients (FlowEventCodec, registryCheck) work
// with the login of the environment. Needs the stack's settings (.stack/stack.env): the
// test principal in SCHEMA_REGISTRY_*, every principal's password in PFM_REGISTRY_PASSWORDS_FILE.
import { readFileSync } from 'node:fs';
import { SchemaType } from '@kafkajs/confluent-schema-registry';
import { flowEventAvroSchema } from '@pfm/contracts';
import { requireStack, syntheticEvents, uniqueName } from '@pfm/testkit';
import { registryCheck } from './checks';
import { FlowEventCodec } from './codec';
import { InfrastructureError } from './errors';
import { createSchemaRegistry, registryAuthFromEnv, RegistryAuthConfigError, registryHeaders, registryStatus } from './registry';

describe('the schema registry is closed by default: authentication and roles on the real registry', () => {
  let url: string;
  let passwords: Map<string, string>;
  /** The environment of a client logged in as `principal` (its password from the stack's file). */
  const as = (principal: string, password = passwords.get(principal)): NodeJS.ProcessEnv => {
    if (!password) throw new Error(`no password for the ${principal} principal in ${process.env.PFM_REGISTRY_PASSWORDS_FILE}`);
    return { SCHEMA_REGISTRY_USERNAME: principal, SCHEMA_REGISTRY_PASSWORD: password };
  };
  const get = (path: string, env: NodeJS.ProcessEnv = {}) => fetch(`${url}${path}`, { headers: registryHeaders(env) });
  const register = (subject: string, env: NodeJS.ProcessEnv, body = { schema: JSON.stringify({ type: 'record', name: 'Probe', fields: [{ name: 'a', type: 'string' }] }) }) =>
    fetch(`${url}/subjects/${subject}/versions`, { method: 'POST', headers: { ...registryHeaders(env), 'content-type': 'application/vnd.schemaregistry.v1+json' }, body: JSON.stringify(body) });
  const failure = async (p: Promise<unknown>): Promise<Error> => {
    try { await p; } catch (e) { return e as Error; }
    throw new Error('expected the registry to refuse, but the call succeeded');
  };

  beforeAll(async () => {
    url = (await requireStack()).schemaRegistryUrl;
    const file = process.env.PFM_REGISTRY_PASSWORDS_FILE;
    if (!registryAuthFromEnv() || !file) {
      throw new Error('the stack is expected to run the registry with authentication (infra/schema-registry/registry.sh, PFM_REGISTRY_AUTH=1): source .stack/stack.env for SCHEMA_REGISTRY_* and PFM_REGISTRY_PASSWORDS_FILE');
    }
    passwords = new Map(readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => l.split(' ') as [string, string]));
  });

  it('refuses a request without a login (401), reads and writes alike', async () => {
    expect((await get('/subjects')).status).toBe(401);
    expect((await get('/schemas/ids/1')).status).toBe(401);
    expect((await register(uniqueName('anon'), {})).status).toBe(401);
    // The product's codec without a login stops with the reason, not a retry loop.
    const e = await failure(new FlowEventCodec(url, `${uniqueName('anon')}-value`, {}).init());
    expect(e).toBeInstanceOf(InfrastructureError);
    expect(e.message).toMatch(/login refused \(401\).*SCHEMA_REGISTRY_USERNAME/);
  });

  it('refuses a wrong password and an unknown user (401)', async () => {
    expect((await get('/subjects', as('ingest', 'not-the-password'))).status).toBe(401);
    expect((await get('/subjects', as('nobody', 'whatever'))).status).toBe(401);
    expect(registryStatus(await failure(createSchemaRegistry(url, as('test', 'not-the-password')).getLatestSchemaId('any')))).toBe(401);
  });

  it('lets a read-only principal read but not register a schema (403)', async () => {
    const subject = uniqueName('ro');
    expect((await get('/subjects', as('engine'))).status).toBe(200);
    const refused = await register(subject, as('engine'));
    expect(refused.status).toBe(403);
    expect(((await get(`/subjects/${subject}/versions`, as('test'))).status)).toBe(404);
    // Through the product's client too.
    const e = await failure(createSchemaRegistry(url, as('gateway')).register({ type: SchemaType.AVRO, schema: JSON.stringify(flowEventAvroSchema) }, { subject }));
    expect(registryStatus(e)).toBe(403);
    // A writer (ingest) may.
    expect((await register(subject, as('ingest'))).status).toBe(200);
  });

  it('gives a read-only service the id its writer registered: the codec waits for ingest, then encodes with that id', async () => {
    const subject = `${uniqueName('codec')}-value`;
    const reader = new FlowEventCodec(url, subject, as('engine'));
    const waiting = reader.init(1, 20_000);
    const writer = new FlowEventCodec(url, subject, as('ingest'));
    const id = await writer.init();
    expect(await waiting).toBe(id);
    const [event] = syntheticEvents({ total: 1, seed: 7 });
    expect(await writer.decode(await reader.encode(event!))).toEqual(event);
    // Nobody registers: the read-only codec says why it gave up.
    const e = await failure(new FlowEventCodec(url, `${uniqueName('none')}-value`, as('insights')).init(1, 1000));
    expect(e.message).toMatch(/read-only.*no writer \(ingest\) registered/);
  });

  it('works for the product\'s clients with the login of the environment', async () => {
    const codec = new FlowEventCodec(url, `${uniqueName('env')}-value`);
    await codec.init();
    const events = syntheticEvents({ total: 3, seed: 11 });
    const fresh = new FlowEventCodec(url, 'unused-value');
    for (const e of events) expect(await fresh.decode(await codec.encode(e))).toEqual(e);
    expect(await registryCheck(url)()).toEqual({ ok: true });
    expect(await registryCheck(url, 2000, {})()).toEqual({ ok: false, detail: 'registry answered 401' });
  });

  it('reads the login from the environment, and refuses a user without a password', () => {
    expect(registryAuthFromEnv({})).toBeUndefined();
    expect(registryAuthFromEnv({ SCHEMA_REGISTRY_USERNAME: ' ' })).toBeUndefined();
    expect(registryAuthFromEnv({ SCHEMA_REGISTRY_USERNAME: 'ingest', SCHEMA_REGISTRY_PASSWORD: 'pw' })).toEqual({ username: 'ingest', password: 'pw' });
    expect(() => registryAuthFromEnv({ SCHEMA_REGISTRY_USERNAME: 'ingest' })).toThrow(RegistryAuthConfigError);
    expect(registryHeaders({ SCHEMA_REGISTRY_USERNAME: 'a', SCHEMA_REGISTRY_PASSWORD: 'b' })).toEqual({ authorization: `Basic ${Buffer.from('a:b').toString('base64')}` });
  });
});
