// Jest test environment of the integration and e2e projects: with PFM_TEST_STACK=containers
// (what ./pfm test sets where a container engine can be had), each suite file gets a
// secure container stack (Kafka on SASL_SSL with SCRAM and ACLs, the registry with logins,
// Redis with a login; @pfm/testkit) that no other file is using and that holds nothing an
// earlier file made. How (testEnvironmentOptions.stacks, parts.ts suiteStacks):
// - `file` (e2e always; integration on 4 CPUs or more): a stack of the file's own, started
//   before its first test (or while the file before it ran: `planSpare`) and removed after
//   its last, also when a test fails. A suite that stops its broker (back-pressure) or kills
//   the engine (the fault test) disturbs no other.
// - `worker` (integration on fewer CPUs): one stack per jest worker, started for its first
//   file and emptied back to its start before each next one (@pfm/testkit reset.ts); one
//   that cannot be emptied is replaced. The global tear-down removes them (stack-teardown.ts).
// - `project` (PFM_SUITE_STACKS=project): the global set-up's one stack, shared.
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
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startContainerStack, type ContainerStack, type StackPart } from '../../packages/testkit/src/containers';
import { ABSENT_PART_ENV, STACK_PARTS, stackParts, suiteStacks, type SuiteStacks } from '../../packages/testkit/src/parts';
import { resetStack, stackBaseline, type StackBaseline } from '../../packages/testkit/src/reset';
import { secureKafka } from './secure-kafka';

/** Notes a stack the global tear-down is to remove if nothing else does (written at once, before anything else can fail). */
function noteStack(registry: string, stack: ContainerStack): ContainerStack {
  writeFileSync(join(registry, `${stack.id}.json`), JSON.stringify({ id: stack.id, securityDir: stack.security?.dir }));
  return stack;
}

/**
 * This worker's stack in `worker` mode. Jest loads the environment's module once per
 * worker process, so it outlives one file's environment.
 */
let workerStack: { stack: ContainerStack; baseline: StackBaseline; used: readonly StackPart[]; files: number } | undefined;

/** This worker's stack, emptied of what the last file made, or a new one; and what was done, for the log. */
async function takeWorkerStack(parts: readonly StackPart[]): Promise<{ stack: ContainerStack; said: string }> {
  let said = '';
  if (workerStack) {
    const w = workerStack;
    try {
      const r = await resetStack(w.stack, w.baseline, w.used);
      said = `this worker's stack (file ${w.files + 1} on it), emptied in ${r.seconds.toFixed(1)} s of ${r.topics} topics, ${r.groups} groups, ${r.acls} ACLs, ${r.subjects} subjects, ${r.redisKeys} Redis keys, ${r.redisUsers} Redis users`;
    } catch (e) {
      said = `a new stack for this worker (the last one could not be emptied: ${(e as Error).message})`;
      workerStack = undefined;
      await w.stack.stop().catch(() => undefined);
    }
  }
  if (!workerStack) {
    const registry = process.env.PFM_WORKER_STACKS_DIR;
    if (!registry) throw new Error('PFM_WORKER_STACKS_DIR is not set: worker stacks need the project\'s global set-up (scripts/jest/stack-setup.ts), which removes them at the end');
    const stack = noteStack(registry, await startContainerStack({ secure: true, secureKafka }));
    workerStack = { stack, baseline: await stackBaseline(stack), used: [], files: 0 };
    said ||= `this worker's stack, started in ${stack.startSeconds.toFixed(1)} s`;
  }
  workerStack.used = parts;
  workerStack.files += 1;
  return { stack: workerStack.stack, said };
}

/**
 * `file` mode: the next file's stack, started while this file runs (a stack start is JVM
 * starts, ~9 s here, where the file's own tests leave a core idle much of the time), a
 * while after this file's set-up so as not to compete with its services' starts
 * (PFM_SPARE_STACK_DELAY_MS, default 8 s). Off unless PFM_SPARE_STACK=1: a stack start
 * makes a network (a bridge and veth interfaces on the host), and a browser the running
 * file drives then aborts its navigation with net::ERR_NETWORK_CHANGED (board.e2e failed
 * so in a newcomer's run of ./pfm test at 75ad936). The next file takes
 * it when its parts cover that file's, and removes it after its last test as its own; one
 * left over at the end is removed by the global tear-down (noted in PFM_WORKER_STACKS_DIR).
 */
let spare: { parts: readonly StackPart[]; timer?: NodeJS.Timeout; started?: Promise<ContainerStack> } | undefined;

function planSpare(parts: readonly StackPart[]): void {
  const registry = process.env.PFM_WORKER_STACKS_DIR;
  if (process.env.PFM_SPARE_STACK !== '1' || !registry || !parts.length) return;
  const s: NonNullable<typeof spare> = { parts };
  s.timer = setTimeout(() => {
    s.timer = undefined;
    s.started = startContainerStack({ secure: true, parts: [...parts], secureKafka }).then((stack) => noteStack(registry, stack));
    s.started.catch(() => undefined); // taken (or not) by the next file, which reports a failure
  }, Number(process.env.PFM_SPARE_STACK_DELAY_MS ?? 8_000));
  s.timer.unref();
  spare = s;
}

/** At the end of the run (the global tear-down, same process when jest runs in band): no spare is started any more, and one started is removed. */
export async function settleSpare(): Promise<void> {
  const s = spare;
  spare = undefined;
  if (s?.timer) clearTimeout(s.timer);
  const stack = await s?.started?.catch(() => undefined);
  await stack?.stop();
}

/** This file's stack: the spare when it is ready or on its way and covers the parts, else a new one. */
async function takeFileStack(parts: readonly StackPart[]): Promise<{ stack: ContainerStack; said: string }> {
  const s = spare;
  spare = undefined;
  if (s?.timer) clearTimeout(s.timer);
  if (s?.started && parts.every((p) => s.parts.includes(p))) {
    const t0 = Date.now();
    const stack = await s.started.catch(() => undefined);
    if (stack) return { stack, said: `a stack of this suite's own (${s.parts.join(', ')}), started while the suite before ran (${stack.startSeconds.toFixed(1)} s), waited for ${((Date.now() - t0) / 1000).toFixed(1)} s` };
  } else if (s?.started) {
    void s.started.then((stack) => stack.stop(), () => undefined);
  }
  const stack = await startContainerStack({ secure: true, parts: [...parts], secureKafka });
  return { stack, said: `a stack of this suite's own (${parts.join(', ')}), started in ${stack.startSeconds.toFixed(1)} s` };
}

type Args = ConstructorParameters<typeof TestEnvironment>;

export default class SuiteStackEnvironment extends TestEnvironment {
  private readonly parts: StackPart[];
  private readonly stacks: SuiteStacks;
  private stack: ContainerStack | undefined;
  private saved: Record<string, string | undefined> = {};

  constructor(config: Args[0], context: Args[1]) {
    super(config, context);
    this.parts = stackParts(context.docblockPragmas['pfm-stack'], context.testPath);
    // testEnvironmentOptions.stacks: 'file', 'worker', 'project' (the global set-up's stack), or 'auto'.
    this.stacks = suiteStacks(config.projectConfig.testEnvironmentOptions.stacks);
  }

  override async setup(): Promise<void> {
    await super.setup();
    if (process.env.PFM_TEST_STACK !== 'containers' || this.stacks === 'project') return;
    const env: Record<string, string> = { PFM_TEST_STACK_PARTS: this.parts.join(',') };
    let said = 'no stack: this suite names none';
    if (this.parts.length && this.stacks === 'worker') {
      const taken = await takeWorkerStack(this.parts);
      Object.assign(env, taken.stack.env, { PFM_TEST_STACK_ID: taken.stack.id });
      said = `${taken.said}; this suite uses ${this.parts.join(', ')}`;
    } else if (this.parts.length) {
      const taken = await takeFileStack(this.parts);
      this.stack = taken.stack;
      Object.assign(env, taken.stack.env, { PFM_TEST_STACK_ID: taken.stack.id });
      said = taken.said;
      planSpare(this.parts);
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
