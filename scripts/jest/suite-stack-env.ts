// Jest test environment of the e2e project: with PFM_TEST_STACK=containers (what ./pfm test
// sets where a container engine can be had), each suite file gets a secure container stack
// of its own (Kafka on SASL_SSL with SCRAM and ACLs, the registry with logins, Redis with a
// login; @pfm/testkit), started before the file's first test and removed after its last,
// also when a test fails. A suite that stops its broker (back-pressure) or kills the
// engine (the fault test) then disturbs no other suite, and no suite sees another's state.
// Its addresses and logins go into the suite's environment and into the worker process's,
// so services and tools a suite starts use them too (a worker runs one file at a time).
// Without containers (PFM_TEST_STACK=native) it is jest's node environment, on the stack
// the environment names.
import { TestEnvironment } from 'jest-environment-node';
import { startContainerStack, type ContainerStack } from '../../packages/testkit/src/containers';

export default class SuiteStackEnvironment extends TestEnvironment {
  private stack: ContainerStack | undefined;
  private saved: Record<string, string | undefined> = {};

  override async setup(): Promise<void> {
    await super.setup();
    if (process.env.PFM_TEST_STACK !== 'containers') return;
    const stack = await startContainerStack({ secure: true });
    this.stack = stack;
    const env: Record<string, string> = { ...stack.env, PFM_TEST_STACK_ID: stack.id };
    for (const [k, v] of Object.entries(env)) {
      this.saved[k] = process.env[k];
      process.env[k] = v;
      this.global.process.env[k] = v;
    }
    process.stdout.write(`[stack] a stack of this suite's own, started in ${stack.startSeconds.toFixed(1)} s\n`);
  }

  override async teardown(): Promise<void> {
    try {
      await this.stack?.stop();
    } finally {
      this.stack = undefined;
      for (const [k, v] of Object.entries(this.saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
      await super.teardown();
    }
  }
}
