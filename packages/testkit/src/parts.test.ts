import { ABSENT_PART_ENV, stackParts, suiteStacks } from './parts';

describe('a suite file names the parts of its stack (@pfm-stack)', () => {
  it('gets all three without the pragma', () => {
    expect(stackParts(undefined, 'a.int.test.ts')).toEqual(['kafka', 'registry', 'redis']);
  });

  it('gets the parts it names, in a fixed order, by spaces or commas, once each', () => {
    expect(stackParts('redis kafka', 'f')).toEqual(['kafka', 'redis']);
    expect(stackParts('registry,kafka', 'f')).toEqual(['kafka', 'registry']);
    expect(stackParts(['redis', 'redis'], 'f')).toEqual(['redis']);
  });

  it('gets none with "none"', () => {
    expect(stackParts('none', 'f')).toEqual([]);
  });

  it('is refused with a part it cannot have, or nothing named, with the file in the message', () => {
    expect(() => stackParts('kafka postgres', 'x.int.test.ts')).toThrow('x.int.test.ts: @pfm-stack names postgres; name any of kafka, registry, redis, or none');
    expect(() => stackParts('', 'y.int.test.ts')).toThrow('y.int.test.ts: @pfm-stack names nothing');
    expect(() => stackParts('none redis', 'z')).toThrow('names none');
  });

  it('gives a part it did not name an address where nothing listens, and no login', () => {
    expect(ABSENT_PART_ENV.kafka.KAFKA_BROKERS).toBe('127.0.0.1:1');
    expect(ABSENT_PART_ENV.kafka.KAFKA_SASL_USERNAME).toBe('');
    expect(new URL(ABSENT_PART_ENV.registry.SCHEMA_REGISTRY_URL!).port).toBe('1');
    expect(new URL(ABSENT_PART_ENV.redis.REDIS_URL!).port).toBe('1');
  });
});

describe('how a project gets its stacks', () => {
  it('takes what the project asks for, file, worker or project', () => {
    expect(suiteStacks('file', {}, 2)).toBe('file');
    expect(suiteStacks('worker', { PFM_SUITE_STACKS: 'file' }, 8)).toBe('worker');
    expect(suiteStacks('project', { PFM_SUITE_STACKS: 'file' }, 8)).toBe('project');
  });

  it('on auto: PFM_SUITE_STACKS, else a stack per file with 4 CPUs or more, one per worker, emptied between files, below', () => {
    expect(suiteStacks('auto', { PFM_SUITE_STACKS: 'file' }, 2)).toBe('file');
    expect(suiteStacks('auto', { PFM_SUITE_STACKS: 'project' }, 16)).toBe('project');
    expect(suiteStacks('auto', {}, 4)).toBe('file');
    expect(suiteStacks('auto', { PFM_SUITE_STACKS: 'worker' }, 16)).toBe('worker');
    expect(suiteStacks('auto', {}, 2)).toBe('worker');
    expect(suiteStacks(undefined, {}, 3)).toBe('worker');
  });

  it('refuses a PFM_SUITE_STACKS it does not know', () => {
    expect(() => suiteStacks('auto', { PFM_SUITE_STACKS: 'suite' }, 2)).toThrow("PFM_SUITE_STACKS is 'suite'; say file, worker or project");
  });
});
