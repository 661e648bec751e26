/** @pfm-stack none */
// Both overlays rendered by the real `kubectl kustomize`, and the rendered objects held
// to the product's deployment rules (checkManifests).
import { join } from 'node:path';
import { checkManifests, K8S_DIR, kustomizeVersion, renderOverlay, type K8sObject } from './k8s';

interface InsightsSet {
  spec: {
    replicas: number; serviceName: string;
    template: { spec: { containers: {
      image: string; command: string[]; env: { name: string; value?: string; valueFrom?: unknown }[]; envFrom: unknown[];
      volumeMounts: { name: string; mountPath: string }[];
      readinessProbe: { httpGet: { path: string } }; livenessProbe: { httpGet: { path: string } }; startupProbe: { httpGet: { path: string } };
    }[] } };
    volumeClaimTemplates: { metadata: { name: string }; spec: { accessModes: string[]; resources: { requests: { storage: string } } } }[];
  };
}

const names = (objs: K8sObject[], kind: string) => objs.filter((o) => o.kind === kind).map((o) => o.metadata.name).sort();

describe('Kubernetes manifests rendered by kubectl kustomize', () => {
  it('kubectl carries Kustomize v4 or later (the overlays use `patches`)', () => {
    expect(kustomizeVersion()[0]).toBeGreaterThanOrEqual(4);
  });

  it.each([['dev', 'pfm-dev'], ['production', 'pfm']])('the %s overlay renders and keeps every rule', (overlay, namespace) => {
    const objs = renderOverlay(join(K8S_DIR, 'overlays', overlay));
    expect(checkManifests(objs, namespace)).toEqual([]);
    expect(names(objs, 'Deployment')).toEqual(['board-gateway', 'flow-engine', 'ingest']);
    expect(names(objs, 'StatefulSet')).toEqual(['insights']);
    expect(names(objs, 'PodDisruptionBudget')).toEqual(['board-gateway', 'flow-engine', 'ingest', 'insights']);
    expect(names(objs, 'NetworkPolicy')).toEqual(['board-gateway-from-browsers', 'default-deny-ingress', 'flow-engine-from-monitoring', 'ingest-from-senders', 'insights-api-readers', 'insights-from-monitoring']);
  });

  it.each(['dev', 'production'])('%s: insights is one replica with its warehouse on a claimed volume, reachable only from monitoring and (its read API) the gateway and labelled analyst namespaces', (overlay) => {
    const objs = renderOverlay(join(K8S_DIR, 'overlays', overlay));
    const sts = objs.find((o) => o.kind === 'StatefulSet' && o.metadata.name === 'insights') as unknown as InsightsSet;
    const c = sts.spec.template.spec.containers[0]!;
    expect({ replicas: sts.spec.replicas, serviceName: sts.spec.serviceName, image: c.image, command: c.command.at(-1), probes: [c.readinessProbe.httpGet.path, c.livenessProbe.httpGet.path, c.startupProbe.httpGet.path] })
      .toEqual({ replicas: 1, serviceName: 'insights', image: expect.stringMatching(/patient-flow-monitor:/), command: 'services/insights/src/main.ts', probes: ['/readyz', '/healthz', '/healthz'] });
    const env = Object.fromEntries(c.env.map((e) => [e.name, e.value ?? e.valueFrom]));
    expect(env.PFM_OPS_PORT).toBe('9464');
    expect(env.PFM_INSIGHTS_DB).toBe('/var/lib/pfm/insights/insights.duckdb');
    expect(c.volumeMounts).toContainEqual({ name: 'warehouse', mountPath: '/var/lib/pfm/insights' });
    expect(sts.spec.volumeClaimTemplates.map((t) => ({ name: t.metadata.name, modes: t.spec.accessModes, size: t.spec.resources.requests.storage })))
      .toEqual([{ name: 'warehouse', modes: ['ReadWriteOnce'], size: expect.stringMatching(/^\d+Gi$/) }]);
    // Its own key only: not the services' shared secret.
    expect(c.envFrom).toEqual([{ configMapRef: { name: expect.stringMatching(/^pfm-config/) } }]);
    // The governing Service is headless and internal; the policy admits only the monitoring namespace.
    const svc = objs.find((o) => o.kind === 'Service' && o.metadata.name === 'insights') as { spec: { clusterIP?: string; type?: string } } | undefined;
    expect(svc?.spec).toMatchObject({ clusterIP: 'None', type: 'ClusterIP' });
    const policy = objs.find((o) => o.kind === 'NetworkPolicy' && o.metadata.name === 'insights-from-monitoring');
    expect((policy as { spec: unknown } | undefined)?.spec).toStrictEqual({
      podSelector: { matchLabels: { 'app.kubernetes.io/name': 'insights' } }, policyTypes: ['Ingress'],
      ingress: [{ from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } }], ports: [{ port: 9464, protocol: 'TCP' }] }],
    });
    // The web app's insights reads come through board-gateway; BI tools from labelled namespaces.
    const api = objs.find((o) => o.kind === 'NetworkPolicy' && o.metadata.name === 'insights-api-readers');
    expect((api as { spec: unknown } | undefined)?.spec).toStrictEqual({
      podSelector: { matchLabels: { 'app.kubernetes.io/name': 'insights' } }, policyTypes: ['Ingress'],
      ingress: [{ from: [{ podSelector: { matchLabels: { 'app.kubernetes.io/name': 'board-gateway' } } }, { namespaceSelector: { matchLabels: { 'patient-flow-monitor/insights-api': 'allowed' } } }], ports: [{ port: 3300, protocol: 'TCP' }] }],
    });
    const gw = objs.find((o) => o.kind === 'Deployment' && o.metadata.name === 'board-gateway') as unknown as { spec: { template: { spec: { containers: { env: { name: string; value?: string }[] }[] } } } };
    expect(gw.spec.template.spec.containers[0]!.env).toContainEqual({ name: 'PFM_INSIGHTS_URL', value: 'http://insights:3300' });
  });

  it('production: 6 engines on 12 partitions, the gateway behind a load balancer, no secret values in the output', () => {
    const objs = renderOverlay(join(K8S_DIR, 'overlays', 'production'));
    const config = objs.find((o) => o.kind === 'ConfigMap' && o.metadata.name.startsWith('pfm-config')) as { data: Record<string, string> } | undefined;
    expect(config?.data.PFM_TOPIC_PARTITIONS).toBe('12');
    const engine = objs.find((o) => o.kind === 'Deployment' && o.metadata.name === 'flow-engine') as { spec: { replicas: number } } | undefined;
    expect(engine?.spec.replicas).toBe(6);
    const lbs = objs.filter((o) => o.kind === 'Service' && (o.spec as { type?: string }).type === 'LoadBalancer').map((o) => o.metadata.name);
    expect(lbs).toEqual(['board-gateway']);
    expect(names(objs, 'Secret')).toEqual([]);
  });

  it('dev: generated secrets that the pods reference by their hashed names; the insights key only in insights', () => {
    const objs = renderOverlay(join(K8S_DIR, 'overlays', 'dev'));
    const secrets = names(objs, 'Secret');
    const secret = secrets.find((n) => n.startsWith('pfm-secrets-'));
    const insightsKey = secrets.find((n) => n.startsWith('pfm-insights-'));
    expect(secrets).toHaveLength(4);
    expect(secret).toMatch(/^pfm-secrets-[a-z0-9]+$/);
    expect(insightsKey).toMatch(/^pfm-insights-[a-z0-9]+$/);
    const refs = objs.filter((o) => o.kind === 'Deployment').flatMap((d) => JSON.stringify(d).match(/"secretRef":\{"name":"[^"]+"\}/g) ?? []);
    expect(new Set(refs)).toEqual(new Set([`"secretRef":{"name":"${secret}"}`]));
    const users = objs.filter((o) => JSON.stringify(o).includes(`"${insightsKey}"`) && o.kind !== 'Secret').map((o) => `${o.kind}/${o.metadata.name}`);
    expect(users).toEqual(['StatefulSet/insights']);
    const sts = objs.find((o) => o.kind === 'StatefulSet') as unknown as InsightsSet;
    expect(sts.spec.template.spec.containers[0]!.env.find((e) => e.name === 'PFM_INSIGHTS_SECRET')?.valueFrom).toEqual({ secretKeyRef: { name: insightsKey, key: 'PFM_INSIGHTS_SECRET' } });
  });

  it('every service logs in to Kafka as its own principal, its password from its own key of the pfm-kafka Secret', () => {
    const objs = renderOverlay(join(K8S_DIR, 'overlays', 'dev'));
    const kafkaSecret = names(objs, 'Secret').find((n) => n.startsWith('pfm-kafka-'));
    expect(kafkaSecret).toMatch(/^pfm-kafka-[a-z0-9]+$/);
    const config = objs.find((o) => o.kind === 'ConfigMap' && o.metadata.name.startsWith('pfm-config')) as { data: Record<string, string> } | undefined;
    expect(config?.data.KAFKA_SASL_MECHANISM).toBe('scram-sha-512');
    const logins = objs.filter((o) => o.kind === 'Deployment' || o.kind === 'StatefulSet').map((o) => {
      const env = (o as unknown as InsightsSet).spec.template.spec.containers[0]!.env;
      return [o.metadata.name, env.find((e) => e.name === 'KAFKA_SASL_USERNAME')?.value, env.find((e) => e.name === 'KAFKA_SASL_PASSWORD')?.valueFrom];
    });
    expect(Object.fromEntries(logins.map(([n, u, p]) => [n, { u, p }]))).toEqual({
      ingest: { u: 'ingest', p: { secretKeyRef: { name: kafkaSecret, key: 'ingest' } } },
      'flow-engine': { u: 'engine', p: { secretKeyRef: { name: kafkaSecret, key: 'engine' } } },
      'board-gateway': { u: 'gateway', p: { secretKeyRef: { name: kafkaSecret, key: 'gateway' } } },
      insights: { u: 'insights', p: { secretKeyRef: { name: kafkaSecret, key: 'insights' } } },
    });
  });

  it('every service logs in to the schema registry as its own principal, its password from its own key of the pfm-registry Secret', () => {
    const objs = renderOverlay(join(K8S_DIR, 'overlays', 'dev'));
    const registrySecret = names(objs, 'Secret').find((n) => n.startsWith('pfm-registry-'));
    expect(registrySecret).toMatch(/^pfm-registry-[a-z0-9]+$/);
    const logins = objs.filter((o) => o.kind === 'Deployment' || o.kind === 'StatefulSet').map((o) => {
      const env = (o as unknown as InsightsSet).spec.template.spec.containers[0]!.env;
      return [o.metadata.name, { u: env.find((e) => e.name === 'SCHEMA_REGISTRY_USERNAME')?.value, p: env.find((e) => e.name === 'SCHEMA_REGISTRY_PASSWORD')?.valueFrom }];
    });
    const ref = (key: string) => ({ secretKeyRef: { name: registrySecret, key } });
    expect(Object.fromEntries(logins)).toEqual({
      ingest: { u: 'ingest', p: ref('ingest') }, 'flow-engine': { u: 'engine', p: ref('engine') },
      'board-gateway': { u: 'gateway', p: ref('gateway') }, insights: { u: 'insights', p: ref('insights') },
    });
  });
});
