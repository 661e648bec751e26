import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { namespaceAcls, namespaceGroups, parseAcls, parsePasswords, PrincipalConfigError, servicePrincipalEnv, SERVICE_PRINCIPALS, type KafkaService } from './principals';

const kafka = { file: '/stack/kafka/secrets/passwords', text: 'admin a1\ningest i1\nengine e1\ngateway g1\ninsights n1\nreplay r1\nsimulator s1\nregistry x1\ntest t1\n' };
const registry = { file: '/stack/schema-registry/secrets/passwords', text: 'admin A\ningest I\nreplay R\ntest T\nengine E\ngateway G\ninsights N\n' };

describe('each service its own principal', () => {
  it('parses "name password" lines, skipping blanks and comments', () => {
    expect([...parsePasswords('# x\n\nadmin  p1\r\ningest p2\n').entries()]).toEqual([['admin', 'p1'], ['ingest', 'p2']]);
  });

  it.each(Object.entries(SERVICE_PRINCIPALS))('%s logs in as %s to Kafka (SCRAM) and to the registry', (service, principal) => {
    const env = servicePrincipalEnv(service as KafkaService, { kafka, registry });
    expect(env).toEqual({
      KAFKA_SASL_MECHANISM: 'scram-sha-512', KAFKA_SASL_USERNAME: principal, KAFKA_SASL_PASSWORD: parsePasswords(kafka.text).get(principal),
      SCHEMA_REGISTRY_USERNAME: principal, SCHEMA_REGISTRY_PASSWORD: parsePasswords(registry.text).get(principal),
    });
    expect(env.KAFKA_SASL_USERNAME).not.toBe('test');
  });

  it('without a registry passwords file, only the Kafka login is set', () => {
    expect(servicePrincipalEnv('flow-engine', { kafka })).toEqual({ KAFKA_SASL_MECHANISM: 'scram-sha-512', KAFKA_SASL_USERNAME: 'engine', KAFKA_SASL_PASSWORD: 'e1' });
  });

  it('a missing principal fails, naming the principal, the service and the file', () => {
    const noGateway = { file: kafka.file, text: kafka.text.replace('gateway g1\n', '') };
    expect(() => servicePrincipalEnv('board-gateway', { kafka: noGateway, registry })).toThrow(PrincipalConfigError);
    expect(() => servicePrincipalEnv('board-gateway', { kafka: noGateway, registry })).toThrow('no Kafka password for the "gateway" principal (service board-gateway) in /stack/kafka/secrets/passwords');
    const noInsights = { file: registry.file, text: registry.text.replace('insights N\n', '') };
    expect(() => servicePrincipalEnv('insights', { kafka, registry: noInsights })).toThrow('no registry password for the "insights" principal (service insights) in /stack/schema-registry/secrets/passwords');
  });
});

describe('acls.txt carried over to a topic namespace', () => {
  const rules = parseAcls(readFileSync(join(__dirname, '..', '..', '..', 'infra', 'kafka', 'acls.txt'), 'utf8'));

  it('the live namespace gets nothing (kafka.sh applies acls.txt itself)', () => {
    expect(namespaceAcls(rules, '')).toEqual([]);
  });

  it('every service topic rule on a live name, and only those, moves under the namespace', () => {
    const ns = namespaceAcls(rules, 'demo-1');
    expect(ns).toContainEqual({ principal: 'ingest', resourceType: 'TOPIC', patternType: 'LITERAL', name: 'demo-1.pfm.flow-events.v1', operation: 'WRITE' });
    expect(ns).toContainEqual({ principal: 'engine', resourceType: 'TOPIC', patternType: 'PREFIXED', name: 'demo-1.pfm.', operation: 'CREATE' });
    expect(ns).toContainEqual({ principal: 'gateway', resourceType: 'TOPIC', patternType: 'LITERAL', name: 'demo-1.pfm.board-updates.v1', operation: 'READ' });
    const live = rules.filter((r) => r.resourceType === 'TOPIC' && r.name.startsWith('pfm.') && r.principal !== 'test');
    expect(ns).toHaveLength(live.length);
    expect(ns.every((r) => r.name.startsWith('demo-1.pfm.') && r.resourceType === 'TOPIC' && r.principal !== 'test')).toBe(true);
    // No wider grant than the live one: no ALL, no wildcard, nothing for test, simulator or the registry.
    expect(ns.some((r) => r.operation === 'ALL' || r.name === '*')).toBe(false);
  });

  it('a namespace\'s groups fall under the live group rules', () => {
    const g = namespaceGroups('demo-1');
    const groupRule = (principal: string, name: string) => rules.some((r) => r.principal === principal && r.resourceType === 'GROUP' && r.operation === 'READ' && r.patternType === 'PREFIXED' && name.startsWith(r.name));
    expect(groupRule('engine', g.engine)).toBe(true);
    expect(groupRule('insights', g.insights)).toBe(true);
    expect(namespaceGroups('')).toEqual({ engine: 'pfm-flow-engine', insights: 'pfm-insights' });
  });

  it('a malformed rule is refused', () => {
    expect(() => parseAcls('ingest TOPIC GLOB pfm. READ')).toThrow(PrincipalConfigError);
    expect(() => parseAcls('ingest TOPIC LITERAL')).toThrow('acls line 1');
  });
});
