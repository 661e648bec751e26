/** @pfm-stack registry */
// How decode failures are classified, with the errors the real registry client raises
// (logged in as the environment's registry principal, as the product's clients are).
import { requireStack } from '@pfm/testkit';
import { isRetriableDecodeError } from './errors';
import { createSchemaRegistry } from './registry';

const failure = async (host: string, buf: Buffer): Promise<unknown> => {
  try { await createSchemaRegistry(host).decode(buf); } catch (e) { return e; }
  throw new Error('decode was expected to fail');
};
// Magic byte 0, schema id 999999, then bytes.
const unknownId = Buffer.concat([Buffer.from([0, 0, 0x0f, 0x42, 0x3f]), Buffer.from('body')]);

describe('decode failures: the message\'s fault or the registry\'s', () => {
  let registry: string;
  beforeAll(async () => { registry = (await requireStack()).schemaRegistryUrl; });

  it('a schema id the registry does not know will never decode', async () => {
    expect(isRetriableDecodeError(await failure(registry, unknownId))).toBe(false);
  });

  it('a message without the magic byte will never decode', async () => {
    expect(isRetriableDecodeError(await failure(registry, Buffer.from('plain text, not Avro')))).toBe(false);
  });

  it('an unreachable registry is retried', async () => {
    expect(isRetriableDecodeError(await failure('http://127.0.0.1:1', unknownId))).toBe(true);
  });

  it('a mis-addressed registry is retried, not taken as bad data', async () => {
    expect(isRetriableDecodeError(await failure(`${new URL(registry).origin}/no-such-api`, unknownId))).toBe(true);
  });
});
