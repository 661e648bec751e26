// Each service its own Kafka and registry principal, from the stack's password files
// (infra/kafka/kafka.sh: .stack/kafka/secrets/passwords, PFM_KAFKA_PASSWORDS_FILE;
// infra/schema-registry: .stack/schema-registry/secrets/passwords,
// PFM_REGISTRY_PASSWORDS_FILE; one "name password" a line), and the ACLs of
// infra/kafka/acls.txt carried over to a topic namespace ("<ns>.pfm.flow-events.v1"), so
// the demo and the tests can run the services as themselves on topics of their own.
import { readFileSync } from 'node:fs';
import { AclOperationTypes, AclPermissionTypes, AclResourceTypes, Kafka, logLevel, ResourcePatternTypes, type Admin } from 'kafkajs';
import { kafkaClientConfig } from './client';

/** The product's services that talk to Kafka, and the principal each logs in as (acls.txt). */
export const SERVICE_PRINCIPALS = {
  ingest: 'ingest',
  'flow-engine': 'engine',
  'board-gateway': 'gateway',
  insights: 'insights',
  replay: 'replay',
} as const;
export type KafkaService = keyof typeof SERVICE_PRINCIPALS;

export class PrincipalConfigError extends Error {
  override name = 'PrincipalConfigError';
}

/** A passwords file's text as principal -> password ("name password" a line; blank lines and # comments skipped). */
export function parsePasswords(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const [name, password] = line.split(/\s+/);
    if (name && password) out.set(name, password);
  }
  return out;
}

/** A passwords file: where it is (for messages) and what it holds. */
export interface PasswordsFile { file: string; text: string }

/**
 * The environment that makes `service` log in as its own principal: Kafka SCRAM-SHA-512
 * (the service principals have no PLAIN login) and, when a registry passwords file is
 * given, the registry's basic auth. Throws PrincipalConfigError naming the file and the
 * principal when one is missing.
 */
export function servicePrincipalEnv(service: KafkaService, files: { kafka: PasswordsFile; registry?: PasswordsFile }): Record<string, string> {
  const principal = SERVICE_PRINCIPALS[service];
  const pick = (f: PasswordsFile, what: string): string => {
    const password = parsePasswords(f.text).get(principal);
    if (!password) throw new PrincipalConfigError(`no ${what} password for the "${principal}" principal (service ${service}) in ${f.file}: infra/stack.sh up makes one for every principal`);
    return password;
  };
  const env: Record<string, string> = { KAFKA_SASL_MECHANISM: 'scram-sha-512', KAFKA_SASL_USERNAME: principal, KAFKA_SASL_PASSWORD: pick(files.kafka, 'Kafka') };
  if (files.registry) Object.assign(env, { SCHEMA_REGISTRY_USERNAME: principal, SCHEMA_REGISTRY_PASSWORD: pick(files.registry, 'registry') });
  return env;
}

/**
 * The password files the environment names (PFM_KAFKA_PASSWORDS_FILE, and
 * PFM_REGISTRY_PASSWORDS_FILE when set), or undefined when the stack has no Kafka logins
 * (PFM_KAFKA_PASSWORDS_FILE unset: PFM_KAFKA_SASL=0).
 */
export function passwordFilesFromEnv(env: NodeJS.ProcessEnv = process.env): { kafka: PasswordsFile; registry?: PasswordsFile } | undefined {
  const read = (file: string, variable: string): PasswordsFile => {
    try {
      return { file, text: readFileSync(file, 'utf8') };
    } catch (e) {
      throw new PrincipalConfigError(`${variable}=${file}: ${(e as Error).message}`);
    }
  };
  const kafka = env.PFM_KAFKA_PASSWORDS_FILE?.trim();
  if (!kafka) return undefined;
  const registry = env.PFM_REGISTRY_PASSWORDS_FILE?.trim();
  return { kafka: read(kafka, 'PFM_KAFKA_PASSWORDS_FILE'), ...(registry ? { registry: read(registry, 'PFM_REGISTRY_PASSWORDS_FILE') } : {}) };
}

/** One ALLOW rule of acls.txt: `principal RESOURCE_TYPE PATTERN_TYPE name OPERATION`. */
export interface AclRule { principal: string; resourceType: string; patternType: 'LITERAL' | 'PREFIXED'; name: string; operation: string }

/** acls.txt's rules (comments and blank lines skipped); a malformed line throws. */
export function parseAcls(text: string): AclRule[] {
  const rules: AclRule[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    const f = line.split(/\s+/);
    if (f.length !== 5 || (f[2] !== 'LITERAL' && f[2] !== 'PREFIXED')) throw new PrincipalConfigError(`acls line ${i + 1}: expected "principal RESOURCE_TYPE LITERAL|PREFIXED name OPERATION", got "${line}"`);
    rules.push({ principal: f[0]!, resourceType: f[1]!, patternType: f[2], name: f[3]!, operation: f[4]! });
  });
  return rules;
}

/**
 * The services' topic rules of acls.txt carried over to a topic namespace: every TOPIC rule
 * of a service principal on a live name ("pfm." and "pfm.flow-events.v1") becomes the same
 * rule on "<ns>.pfm." / "<ns>.pfm.flow-events.v1", nothing more. Group rules are not
 * carried over: a namespace's groups start with the live prefixes ("pfm-flow-engine-<ns>",
 * "pfm-insights-<ns>"), which the live rules already cover. Empty for the live namespace.
 */
export function namespaceAcls(rules: AclRule[], namespace: string): AclRule[] {
  if (!namespace) return [];
  const services = new Set<string>(Object.values(SERVICE_PRINCIPALS));
  return rules
    .filter((r) => services.has(r.principal) && r.resourceType === 'TOPIC' && r.name.startsWith('pfm.'))
    .map((r) => ({ ...r, name: `${namespace}.${r.name}` }));
}

/** Consumer group names of a namespace that the live group rules of acls.txt cover. */
export function namespaceGroups(namespace: string): { engine: string; insights: string } {
  const suffix = namespace ? `-${namespace}` : '';
  return { engine: `pfm-flow-engine${suffix}`, insights: `pfm-insights${suffix}` };
}

const enumOf = <T extends Record<string, string | number>>(e: T, key: string, what: string): T[keyof T] => {
  const v = e[key as keyof T];
  if (v === undefined) throw new PrincipalConfigError(`unknown ${what} "${key}" in acls`);
  return v;
};

/** Creates the rules on the broker (idempotent: an existing rule stays as it is). `admin` must be the admin principal's. */
export async function grantAcls(admin: Admin, rules: AclRule[]): Promise<void> {
  if (!rules.length) return;
  await admin.createAcls({
    acl: rules.map((r) => ({
      principal: `User:${r.principal}`, host: '*', permissionType: AclPermissionTypes.ALLOW,
      resourceType: enumOf(AclResourceTypes, r.resourceType, 'resource type'),
      resourcePatternType: enumOf(ResourcePatternTypes, r.patternType, 'pattern type'),
      resourceName: r.name,
      operation: enumOf(AclOperationTypes, r.operation, 'operation'),
    })),
  });
}

/** A principal's password from a passwords file, or PrincipalConfigError naming the file. */
export function principalPassword(principal: string, f: PasswordsFile): string {
  const password = parsePasswords(f.text).get(principal);
  if (!password) throw new PrincipalConfigError(`no password for the "${principal}" principal in ${f.file}`);
  return password;
}

/**
 * Grants the services' rules of acls.txt on a namespace's topics (namespaceAcls), logged in
 * as the admin principal of the passwords file. Only adds rules; nothing for the live
 * namespace (kafka.sh applies acls.txt itself).
 */
export async function grantNamespaceAcls(o: { brokers: string[]; namespace: string; aclsFile: string; kafka: PasswordsFile; env?: NodeJS.ProcessEnv }): Promise<AclRule[]> {
  const rules = namespaceAcls(parseAcls(readFileSync(o.aclsFile, 'utf8')), o.namespace);
  if (!rules.length) return rules;
  const env = { ...(o.env ?? process.env), KAFKA_SASL_MECHANISM: 'scram-sha-512', KAFKA_SASL_USERNAME: 'admin', KAFKA_SASL_PASSWORD: principalPassword('admin', o.kafka) };
  const admin = new Kafka(kafkaClientConfig({ brokers: o.brokers, clientId: 'pfm-acl-grant', logLevel: logLevel.NOTHING }, env)).admin();
  await admin.connect();
  try {
    await grantAcls(admin, rules);
  } finally {
    await admin.disconnect();
  }
  return rules;
}
