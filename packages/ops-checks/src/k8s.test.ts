import { checkManifests, type K8sObject } from './k8s';

const ns = 'pfm';
const deployment = (name: string, over: Record<string, unknown> = {}): K8sObject => ({
  apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, namespace: ns },
  spec: {
    replicas: 1, selector: { matchLabels: { 'app.kubernetes.io/name': name } },
    template: { spec: {
      automountServiceAccountToken: false, securityContext: { runAsNonRoot: true },
      containers: [{
        name, ports: [{ name: 'http', containerPort: 8080 }],
        readinessProbe: { httpGet: { path: '/readyz', port: 'http' } }, livenessProbe: { httpGet: { path: '/healthz', port: 'http' } },
        resources: { requests: { cpu: '1', memory: '1Gi' }, limits: { cpu: '1', memory: '1Gi' } },
        securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
        ...over,
      }],
    } },
  },
});
const insights = (over: { replicas?: number; db?: string; secret?: unknown } = {}): K8sObject => {
  const d = deployment('insights', {
    ports: [{ name: 'ops', containerPort: 9464 }],
    readinessProbe: { httpGet: { path: '/readyz', port: 'ops' } }, livenessProbe: { httpGet: { path: '/healthz', port: 'ops' } },
    env: [
      { name: 'PFM_INSIGHTS_DB', value: over.db ?? '/var/lib/pfm/insights/insights.duckdb' },
      { name: 'PFM_INSIGHTS_SECRET', ...(over.secret === undefined ? { valueFrom: { secretKeyRef: { name: 'pfm-insights', key: 'PFM_INSIGHTS_SECRET' } } } : { value: over.secret }) },
    ],
    volumeMounts: [{ name: 'warehouse', mountPath: '/var/lib/pfm/insights' }, { name: 'tmp', mountPath: '/tmp' }],
  });
  const spec = d.spec as Record<string, unknown>;
  return { ...d, kind: 'StatefulSet', spec: { ...spec, replicas: over.replicas ?? 1, serviceName: 'insights', volumeClaimTemplates: [{ metadata: { name: 'warehouse' }, spec: { accessModes: ['ReadWriteOnce'] } }] } };
};
const pdb = (name: string): K8sObject => ({ apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: { name, namespace: ns }, spec: { selector: { matchLabels: { 'app.kubernetes.io/name': name } } } });
const good: K8sObject[] = [
  deployment('flow-engine'), pdb('flow-engine'), insights(), pdb('insights'),
  { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: ns }, data: { PFM_TOPIC_PARTITIONS: '3' } },
  { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'deny', namespace: ns }, spec: { podSelector: {}, policyTypes: ['Ingress'] } },
];

describe('checkManifests', () => {
  it('passes objects that keep every rule', () => {
    expect(checkManifests(good, ns)).toEqual([]);
  });

  it('wants the insights warehouse deployed', () => {
    expect(checkManifests(good.filter((o) => o.kind !== 'StatefulSet'), ns)).toEqual(['no insights StatefulSet']);
  });

  it('names each broken rule', () => {
    const bad: K8sObject[] = [
      deployment('flow-engine', { livenessProbe: undefined, securityContext: { allowPrivilegeEscalation: true } }),
      { ...deployment('ingest'), metadata: { name: 'ingest', namespace: 'other' } },
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: ns }, data: { PFM_TOPIC_PARTITIONS: '3' } },
      { apiVersion: 'v1', kind: 'Service', metadata: { name: 'ingest', namespace: ns }, spec: { type: 'LoadBalancer' } },
      { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'open-engine', namespace: ns }, spec: { podSelector: { matchLabels: { 'app.kubernetes.io/name': 'flow-engine' } }, ingress: [{ ports: [{ port: 9464 }] }] } },
    ];
    (bad[0]!.spec as { replicas: number }).replicas = 4;
    bad.push(insights({ replicas: 2, db: '/tmp/insights.duckdb', secret: 'a literal key in the manifest' }));
    expect(checkManifests(bad, ns)).toEqual([
      'Deployment/ingest: namespace other, not pfm',
      'Deployment/flow-engine container flow-engine: livenessProbe is not an HTTP GET of /healthz',
      'Deployment/flow-engine container flow-engine: allowPrivilegeEscalation is not false',
      'Deployment/flow-engine container flow-engine: root filesystem is writable',
      'Deployment/flow-engine container flow-engine: capabilities not dropped',
      'Deployment/flow-engine: no PodDisruptionBudget selects it',
      'Deployment/ingest: no PodDisruptionBudget selects it',
      'StatefulSet/insights: no PodDisruptionBudget selects it',
      'flow-engine: 4 replicas for 3 partitions (the extra members would sit idle)',
      'insights: 2 replicas (DuckDB allows one writer per warehouse file)',
      'insights: PFM_INSIGHTS_DB (/tmp/insights.duckdb) is not on a volume claimed by the StatefulSet',
      'insights: PFM_INSIGHTS_SECRET does not come from a secret',
      'Service/ingest: type LoadBalancer (only the gateway\'s may be)',
      'no default-deny ingress NetworkPolicy',
      'NetworkPolicy/open-engine: opens flow-engine to any source',
    ]);
  });

  it('wants every port a Service exposes admitted by a policy on its pods (a default deny would silence it)', () => {
    const svc = (ports: unknown[]): K8sObject => ({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'insights', namespace: ns }, spec: { selector: { 'app.kubernetes.io/name': 'insights' }, ports } });
    const withApi = insights();
    const c = ((withApi.spec as { template: { spec: { containers: { ports: unknown[] }[] } } }).template.spec.containers[0]!);
    c.ports = [...c.ports, { name: 'api', containerPort: 3300 }];
    const objs = [...good.filter((o) => o.kind !== 'StatefulSet'), withApi, svc([{ name: 'ops', port: 9464, targetPort: 'ops' }, { name: 'api', port: 3300, targetPort: 'api' }])];
    const policy = (name: string, port: number): K8sObject => ({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name, namespace: ns }, spec: { podSelector: { matchLabels: { 'app.kubernetes.io/name': 'insights' } }, ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: name } } }], ports: [{ port }] }] } });
    expect(checkManifests([...objs, policy('monitoring', 9464)], ns)).toEqual(['Service/insights port api (3300): no NetworkPolicy admits it']);
    expect(checkManifests([...objs, policy('monitoring', 9464), policy('analysts', 3300)], ns)).toEqual([]);
  });
});
