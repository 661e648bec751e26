// A secure container stack handed back to the state it started in, so that one stack can
// serve suite files one after another and each file still meets an empty stack: no topic,
// consumer group, extra ACL, schema subject, Redis key, script or Redis user that an
// earlier file made. Used where a stack per file costs more than the machine has
// (scripts/jest/suite-stack-env.ts, `worker` stacks: docs/testing.md).
//
// What "the state it started in" means is recorded once, right after the stack's start
// (stackBaseline): the broker's ACLs and the Redis users. resetStack then deletes what is
// not in it, as the stack's admins, and checks that it is gone; anything it cannot make
// clean is thrown, and the caller starts a new stack instead.
import { readFileSync } from 'node:fs';
import Redis from 'ioredis';
import { AclOperationTypes, AclPermissionTypes, AclResourceTypes, Kafka, logLevel, ResourcePatternTypes, type Admin } from 'kafkajs';
import type { ContainerStack, StackPart } from './containers';

export interface StackBaseline {
  /** Every ACL binding the broker had after its set-up (acls.txt), as canonical strings. */
  kafkaAcls: Set<string>;
  /** The Redis users the stack started with. */
  redisUsers: Set<string>;
}

/** What a reset removed, for the suite's log line. */
export interface ResetReport {
  topics: number;
  groups: number;
  acls: number;
  subjects: number;
  redisKeys: number;
  redisUsers: number;
  seconds: number;
}

type Binding = { resourceType: number; resourceName: string; resourcePatternType: number; principal: string; host: string; operation: number; permissionType: number };
const bindingKey = (b: Binding) => JSON.stringify([b.resourceType, b.resourceName, b.resourcePatternType, b.principal, b.host, b.operation, b.permissionType]);

function kafkaAdmin(stack: ContainerStack): Admin {
  const sec = stack.security;
  if (!sec) throw new Error('resetStack needs a secure stack (its admin logins)');
  return new Kafka({
    brokers: stack.kafkaBrokers, clientId: 'pfm-test-stack-reset', logLevel: logLevel.NOTHING,
    ssl: { ca: [readFileSync(sec.caFile, 'utf8')] },
    sasl: { mechanism: 'plain', username: 'admin', password: sec.kafkaPasswords.get('admin') ?? '' },
    retry: { retries: 5 },
  }).admin();
}

async function aclBindings(admin: Admin): Promise<Binding[]> {
  const { resources } = await admin.describeAcls({
    resourceType: AclResourceTypes.ANY, resourcePatternType: ResourcePatternTypes.ANY,
    operation: AclOperationTypes.ANY, permissionType: AclPermissionTypes.ANY,
  });
  return resources.flatMap((r) => r.acls.map((a) => ({ resourceType: r.resourceType, resourceName: r.resourceName, resourcePatternType: r.resourcePatternType, principal: a.principal, host: a.host, operation: a.operation, permissionType: a.permissionType })));
}

const redisAdmin = (stack: ContainerStack) => new Redis(stack.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1, enableOfflineQueue: false });

function registryAdmin(stack: ContainerStack): (path: string, method?: string, body?: unknown) => Promise<Response> {
  const sec = stack.security;
  if (!sec) throw new Error('resetStack needs a secure stack (its admin logins)');
  const auth = `Basic ${Buffer.from(`admin:${sec.registryPasswords.get('admin') ?? ''}`).toString('base64')}`;
  return async (path, method = 'GET', body) => {
    const res = await fetch(`${stack.schemaRegistryUrl}${path}`, {
      method, headers: { authorization: auth, ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    if (!res.ok && res.status !== 404) throw new Error(`registry ${method} ${path}: HTTP ${res.status} ${await res.text()}`);
    return res;
  };
}

/** Records what a freshly started secure stack holds, for resetStack. */
export async function stackBaseline(stack: ContainerStack): Promise<StackBaseline> {
  const baseline: StackBaseline = { kafkaAcls: new Set(), redisUsers: new Set() };
  if (stack.kafka) {
    const admin = kafkaAdmin(stack);
    await admin.connect();
    try {
      for (const b of await aclBindings(admin)) baseline.kafkaAcls.add(bindingKey(b));
    } finally {
      await admin.disconnect();
    }
  }
  if (stack.redis) {
    const r = redisAdmin(stack);
    await r.connect();
    try {
      for (const u of (await r.call('ACL', 'USERS')) as string[]) baseline.redisUsers.add(u);
    } finally {
      r.disconnect();
    }
  }
  return baseline;
}

/**
 * Empties the given parts of a stack back to its baseline and checks them empty. Throws
 * when a part cannot be made clean (a consumer group still has members, a part does not
 * answer): the caller then replaces the stack.
 */
export async function resetStack(stack: ContainerStack, baseline: StackBaseline, parts: readonly StackPart[]): Promise<ResetReport> {
  const t0 = Date.now();
  const report: ResetReport = { topics: 0, groups: 0, acls: 0, subjects: 0, redisKeys: 0, redisUsers: 0, seconds: 0 };
  const work: Promise<void>[] = [];
  if (parts.includes('kafka') && stack.kafka) work.push(resetKafka(stack, baseline, report));
  if (parts.includes('registry') && stack.registry) work.push(resetRegistry(stack, report));
  if (parts.includes('redis') && stack.redis) work.push(resetRedis(stack, baseline, report));
  const results = await Promise.allSettled(work);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  report.seconds = (Date.now() - t0) / 1000;
  return report;
}

async function resetKafka(stack: ContainerStack, baseline: StackBaseline, report: ResetReport): Promise<void> {
  const admin = kafkaAdmin(stack);
  await admin.connect();
  try {
    // Groups first: a group's committed offsets go with it, and a topic is easier to delete
    // with nobody reading it. A group with members left running is not ours to remove.
    const groups = (await admin.listGroups()).groups.map((g) => g.groupId);
    if (groups.length) {
      const results = await admin.deleteGroups(groups).catch((e: { groups?: { groupId: string; errorCode: number }[] } & Error) => {
        const bad = (e.groups ?? []).filter((g) => g.errorCode !== 0 && g.errorCode !== 69 /* GROUP_ID_NOT_FOUND */);
        if (bad.length) throw new Error(`consumer groups left with members or not deletable: ${bad.map((g) => `${g.groupId} (error ${g.errorCode})`).join(', ')}`);
        return e.groups ?? [];
      });
      report.groups = results.length;
    }
    const topics = (await admin.listTopics()).filter((t) => !t.startsWith('__'));
    if (topics.length) {
      await admin.deleteTopics({ topics, timeout: 30_000 });
      report.topics = topics.length;
    }
    const extra = (await aclBindings(admin)).filter((b) => !baseline.kafkaAcls.has(bindingKey(b)));
    if (extra.length) {
      await admin.deleteAcls({ filters: extra });
      report.acls = extra.length;
    }
    // Checked, not assumed: a deletion the broker has not finished would meet the next file.
    const left = (await admin.listTopics()).filter((t) => !t.startsWith('__'));
    const leftAcls = (await aclBindings(admin)).filter((b) => !baseline.kafkaAcls.has(bindingKey(b)));
    const leftGroups = (await admin.listGroups()).groups;
    if (left.length || leftAcls.length || leftGroups.length) {
      throw new Error(`broker not clean after the reset: ${left.length} topics, ${leftAcls.length} ACLs, ${leftGroups.length} groups left`);
    }
  } finally {
    await admin.disconnect();
  }
}

async function resetRegistry(stack: ContainerStack, report: ResetReport): Promise<void> {
  const call = registryAdmin(stack);
  const subjects = (await (await call('/subjects')).json()) as string[];
  for (const s of subjects) {
    const path = `/subjects/${encodeURIComponent(s)}`;
    await call(path, 'DELETE');
    await call(`${path}?permanent=true`, 'DELETE');
  }
  report.subjects = subjects.length;
  // The compatibility rule back to the stack's start (a suite may have changed it).
  await call('/config', 'PUT', { compatibility: 'BACKWARD' });
  const left = (await (await call('/subjects?deleted=true')).json()) as string[];
  if (left.length) throw new Error(`registry not clean after the reset: ${left.length} subjects left (${left.slice(0, 3).join(', ')})`);
}

async function resetRedis(stack: ContainerStack, baseline: StackBaseline, report: ResetReport): Promise<void> {
  const r = redisAdmin(stack);
  await r.connect();
  try {
    report.redisKeys = await r.dbsize();
    for (const u of (await r.call('ACL', 'USERS')) as string[]) {
      if (baseline.redisUsers.has(u)) continue;
      await r.call('ACL', 'DELUSER', u);
      report.redisUsers += 1;
    }
    await r.flushall();
    await r.call('SCRIPT', 'FLUSH');
    await r.call('FUNCTION', 'FLUSH');
    if ((await r.dbsize()) !== 0) throw new Error('Redis not empty after FLUSHALL');
  } finally {
    r.disconnect();
  }
}
