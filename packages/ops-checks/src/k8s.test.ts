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
const pdb = (name: string): K8sObject => ({ apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: { name, namespace: ns }, spec: { selector: { matchLabels: { 'app.kubernetes.io/name': name } } } });
const good: K8sObject[] = [
  deployment('flow-engine'), pdb('flow-engine'),
  { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: ns }, data: { PFM_TOPIC_PARTITIONS: '3' } },
  { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'deny', namespace: ns }, spec: { podSelector: {}, policyTypes: ['Ingress'] } },
];

describe('checkManifests', () => {
  it('passes objects that keep every rule', () => {
    expect(checkManifests(good, ns)).toEqual([]);
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
    expect(checkManifests(bad, ns)).toEqual([
      'Deployment/ingest: namespace other, not pfm',
      'Deployment/flow-engine container flow-engine: livenessProbe is not an HTTP GET of /healthz',
      'Deployment/flow-engine container flow-engine: allowPrivilegeEscalation is not false',
      'Deployment/flow-engine container flow-engine: root filesystem is writable',
      'Deployment/flow-engine container flow-engine: capabilities not dropped',
      'Deployment/flow-engine: no PodDisruptionBudget selects it',
      'Deployment/ingest: no PodDisruptionBudget selects it',
      'flow-engine: 4 replicas for 3 partitions (the extra members would sit idle)',
      'Service/ingest: type LoadBalancer (only the gateway\'s may be)',
      'no default-deny ingress NetworkPolicy',
      'NetworkPolicy/open-engine: opens flow-engine to any source',
    ]);
  });
});
