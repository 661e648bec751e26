// Jest test environment of the integration and e2e projects: with PFM_TEST_STACK=containers
// (what ./pfm test sets where a container engine can be had), each suite file gets a
// secure container stack of its own (e2e always; integration on a machine with 4 CPUs or
// more, or PFM_SUITE_STACKS=file: on fewer, the project's one stack, stack-setup.ts) (Kafka on SASL_SSL with SCRAM and ACLs, the registry
// with logins, Redis with a login; @pfm/testkit), started before the file's first test and
// removed after its last, also when a test fails. A suite that stops its broker
// (back-pressure) or kills the engine (the fault test) then disturbs no other suite, and
// no suite sees another's state.
//
// A file names the parts it uses in its docblock, and gets only those (a broker and a
// registry are the slow starts):
//
//   /** @pfm-stack kafka redis */     (any of kafka, registry, redis; or "none")
//
// Without the pragma it gets all three. A part it did not name is given an address where
// nothing answers, so a suite that uses one it did not name fails at once, loudly, rather
// than reaching a stack it does not own.
//
// Its addresses and logins go into the suite's environment and into the worker process's,
// so services and tools a suite starts use them too (a worker runs one file at a time).
// Without containers (PFM_TEST_STACK=native) it is jest's node environment, on the stack
// the environment names.
import { TestEnvironment } from 'jest-environment-node';
import { startContainerStack, type ContainerStack, type StackPart } from '../../packages/testkit/src/containers';
import { ABSENT_PART_ENV, STACK_PARTS, stackParts, suiteStacks, type SuiteStacks } from '../../packages/testkit/src/parts';
import { secureKafka } from './secure-kafka';

type Args = ConstructorParameters<typeof TestEnvironment>;

export default class SuiteStackEnvironment extends TestEnvironment {
  private readonly parts: StackPart[];
  private readonly stacks: SuiteStacks;
  private stack: ContainerStack | undefined;
  private saved: Record<string, string | undefined> = {};

  constructor(config: Args[0], context: Args[1]) {
    super(config, context);
    this.parts = stackParts(context.docblockPragmas['pfm-stack'], context.testPath);
    // testEnvironmentOptions.stacks: 'file', 'project' (the global set-up's stack), or 'auto'.
    this.stacks = suiteStacks(config.projectConfig.testEnvironmentOptions.stacks);
  }

  override async setup(): Promise<void> {
    await super.setup();
    if (process.env.PFM_TEST_STACK !== 'containers' || this.stacks === 'project') return;
    const env: Record<string, string> = { PFM_TEST_STACK_PARTS: this.parts.join(',') };
    let said = 'no stack: this suite names none';
    if (this.parts.length) {
      const stack = await startContainerStack({ secure: true, parts: this.parts, secureKafka });
      this.stack = stack;
      Object.assign(env, stack.env, { PFM_TEST_STACK_ID: stack.id });
      said = `a stack of this suite's own (${this.parts.join(', ')}), started in ${stack.startSeconds.toFixed(1)} s`;
    }
    for (const p of STACK_PARTS) if (!this.parts.includes(p)) Object.assign(env, ABSENT_PART_ENV[p]);
    for (const [k, v] of Object.entries(env)) {
      this.saved[k] = process.env[k];
      process.env[k] = v;
      this.global.process.env[k] = v;
    }
    if (process.env.PFM_STACK_QUIET !== '1') process.stdout.write(`[stack] ${said}\n`);
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
      this.saved = {};
      await super.teardown();
    }
  }
}
