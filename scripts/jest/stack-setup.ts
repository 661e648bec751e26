// Jest global set-up of the integration project when its suites share one stack (fewer than
// 4 CPUs, or PFM_SUITE_STACKS=project: parts.ts suiteStacks; otherwise each file has a stack
// of its own, suite-stack-env.ts): with PFM_TEST_STACK=containers,
// a secure container stack of this run's own (Kafka on SASL_SSL with SCRAM and ACLs, the
// registry with logins, Redis with a login; @pfm/testkit) is started before any suite and
// its addresses and logins replace the shared stack's in the environment every suite and
// every service a suite starts reads. Otherwise the suites use the stack the environment
// names (the native stack, ./pfm stack up).
import { startContainerStack, type ContainerStack } from '../../packages/testkit/src/containers';
import { suiteStacks } from '../../packages/testkit/src/parts';
import { secureKafka } from './secure-kafka';

declare global {
  // Handed from set-up to tear-down (same process).
  var pfmTestStack: ContainerStack | undefined;
}

export default async function setup(_global: unknown, project: { testEnvironmentOptions?: Record<string, unknown> }): Promise<void> {
  if (process.env.PFM_TEST_STACK !== 'containers' || suiteStacks(project.testEnvironmentOptions?.stacks) !== 'project') return;
  const stack = await startContainerStack({ secure: true, secureKafka });
  globalThis.pfmTestStack = stack;
  Object.assign(process.env, stack.env);
  // Suites that stop a part of the stack (tests/backpressure.e2e.test.ts) find it by this id.
  process.env.PFM_TEST_STACK_ID = stack.id;
  process.stdout.write(`\n[stack] a container stack of this run's own, started in ${stack.startSeconds.toFixed(1)} s: Kafka ${stack.kafkaBrokers.join(',')} (SASL_SSL), registry ${stack.schemaRegistryUrl}, Redis ${stack.redisUrl.replace(/\/\/[^@]*@/, '//')}\n`);
}
