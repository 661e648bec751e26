// Jest global set-up of the integration project, with PFM_TEST_STACK=containers (otherwise
// the suites use the stack the environment names: the native stack, ./pfm stack up):
// - `worker` stacks (fewer than 4 CPUs; parts.ts suiteStacks) and `file` stacks: a
//   directory where each worker notes the stacks it starts for later (a worker's stack, the
//   next file's spare: suite-stack-env.ts), for stack-teardown.ts to remove;
// - `project` (PFM_SUITE_STACKS=project): one secure container stack of this run's own
//   (Kafka on SASL_SSL with SCRAM and ACLs, the registry with logins, Redis with a login;
//   @pfm/testkit), started before any suite, its addresses and logins put in the
//   environment every suite and every service a suite starts reads;
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startContainerStack, type ContainerStack } from '../../packages/testkit/src/containers';
import { suiteStacks } from '../../packages/testkit/src/parts';
import { secureKafka } from './secure-kafka';

declare global {
  // Handed from set-up to tear-down (same process).
  var pfmTestStack: ContainerStack | undefined;
}

export default async function setup(_global: unknown, project: { testEnvironmentOptions?: Record<string, unknown> }): Promise<void> {
  if (process.env.PFM_TEST_STACK !== 'containers') return;
  const mode = suiteStacks(project.testEnvironmentOptions?.stacks);
  if (mode === 'worker' || mode === 'file') {
    // Workers are started after the global set-up and inherit this.
    process.env.PFM_WORKER_STACKS_DIR = mkdtempSync(join(tmpdir(), 'pfm-worker-stacks-'));
    process.stdout.write(mode === 'worker' ? '\n[stack] a container stack per jest worker, emptied between suite files\n' : (process.env.PFM_SPARE_STACK === '1' ? '\n[stack] a container stack per suite file, the next one started while a file runs\n' : '\n[stack] a container stack per suite file\n'));
    return;
  }
  if (mode !== 'project') return;
  const stack = await startContainerStack({ secure: true, secureKafka });
  globalThis.pfmTestStack = stack;
  Object.assign(process.env, stack.env);
  // Suites that stop a part of the stack (tests/backpressure.e2e.test.ts) find it by this id.
  process.env.PFM_TEST_STACK_ID = stack.id;
  process.stdout.write(`\n[stack] a container stack of this run's own, started in ${stack.startSeconds.toFixed(1)} s: Kafka ${stack.kafkaBrokers.join(',')} (SASL_SSL), registry ${stack.schemaRegistryUrl}, Redis ${stack.redisUrl.replace(/\/\/[^@]*@/, '//')}\n`);
}
