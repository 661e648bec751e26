// Which parts of a container stack a suite file gets: the ones its first docblock names
// with the `@pfm-stack` pragma (scripts/jest/suite-stack-env.ts reads it), and addresses
// where nothing answers for the others.
import { availableParallelism } from 'node:os';
import type { StackPart } from './containers';

export const STACK_PARTS: readonly StackPart[] = ['kafka', 'registry', 'redis'];

/** The parts a suite's `@pfm-stack` pragma names: any of kafka, registry, redis, or none; all three without one. */
export function stackParts(pragma: string | string[] | undefined, file: string): StackPart[] {
  if (pragma === undefined) return [...STACK_PARTS];
  const words = (Array.isArray(pragma) ? pragma.join(' ') : pragma).split(/[\s,]+/).filter(Boolean);
  if (words.length === 1 && words[0] === 'none') return [];
  const unknown = words.filter((w) => !STACK_PARTS.includes(w as StackPart));
  if (unknown.length || !words.length) throw new Error(`${file}: @pfm-stack names ${unknown.join(', ') || 'nothing'}; name any of ${STACK_PARTS.join(', ')}, or none`);
  return STACK_PARTS.filter((p) => words.includes(p));
}

/**
 * The environment of a part a suite did not name: an address where nothing answers
 * (port 1) and no logins, so a suite that uses it fails at once, and never reaches a
 * stack it does not own (the machine's native stack, say).
 */
export const ABSENT_PART_ENV: Readonly<Record<StackPart, Readonly<Record<string, string>>>> = {
  kafka: { KAFKA_BROKERS: '127.0.0.1:1', KAFKA_SASL_USERNAME: '', KAFKA_SSL_CA_FILE: '' },
  registry: { SCHEMA_REGISTRY_URL: 'http://127.0.0.1:1/apis/ccompat/v7', SCHEMA_REGISTRY_USERNAME: '' },
  redis: { REDIS_URL: 'redis://127.0.0.1:1' },
};

/**
 * How a project's suites get container stacks:
 * - `file`: each suite file a stack of its own, of the parts it names, removed after it;
 * - `worker`: each jest worker one stack (all three parts) for the files it runs one after
 *   another, emptied back to its start between files (reset.ts: topics, groups, ACLs,
 *   schema subjects, Redis keys, scripts and users), and replaced when it cannot be; every
 *   file still meets an empty stack no other file is using;
 * - `project`: one stack for the whole project, files running at once on it (they keep
 *   apart by topic namespace, group and key prefix).
 * The integration project asks `auto`: PFM_SUITE_STACKS when set, else `file` on a machine
 * with 4 or more CPUs and `worker` on fewer. On 2 CPUs per-file stacks cost ~6 minutes of
 * a run that must stay under 20 (the stack starts are CPU-bound: docs/testing.md).
 */
export type SuiteStacks = 'file' | 'worker' | 'project';
const MODES: readonly SuiteStacks[] = ['file', 'worker', 'project'];

export function suiteStacks(asked: unknown, env: NodeJS.ProcessEnv = process.env, cpus = availableParallelism()): SuiteStacks {
  if (MODES.includes(asked as SuiteStacks)) return asked as SuiteStacks;
  const given = env.PFM_SUITE_STACKS;
  if (MODES.includes(given as SuiteStacks)) return given as SuiteStacks;
  if (given) throw new Error(`PFM_SUITE_STACKS is '${given}'; say file, worker or project`);
  return cpus >= 4 ? 'file' : 'worker';
}
