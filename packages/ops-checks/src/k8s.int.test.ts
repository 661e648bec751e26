// Both overlays rendered by the real `kubectl kustomize`, and the rendered objects held
// to the product's deployment rules (checkManifests).
import { join } from 'node:path';
import { checkManifests, K8S_DIR, kustomizeVersion, renderOverlay, type K8sObject } from './k8s';

const names = (objs: K8sObject[], kind: string) => objs.filter((o) => o.kind === kind).map((o) => o.metadata.name).sort();

describe('Kubernetes manifests rendered by kubectl kustomize', () => {
  it('kubectl carries Kustomize v4 or later (the overlays use `patches`)', () => {
    expect(kustomizeVersion()[0]).toBeGreaterThanOrEqual(4);
  });

  it.each([['dev', 'pfm-dev'], ['production', 'pfm']])('the %s overlay renders and keeps every rule', (overlay, namespace) => {
    const objs = renderOverlay(join(K8S_DIR, 'overlays', overlay));
    expect(checkManifests(objs, namespace)).toEqual([]);
    expect(names(objs, 'Deployment')).toEqual(['board-gateway', 'flow-engine', 'ingest']);
    expect(names(objs, 'PodDisruptionBudget')).toEqual(['board-gateway', 'flow-engine', 'ingest']);
    expect(names(objs, 'NetworkPolicy')).toEqual(['board-gateway-from-browsers', 'default-deny-ingress', 'flow-engine-from-monitoring', 'ingest-from-senders']);
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

  it('dev: a generated secret that the pods reference by its hashed name', () => {
    const objs = renderOverlay(join(K8S_DIR, 'overlays', 'dev'));
    const [secret] = names(objs, 'Secret');
    expect(secret).toMatch(/^pfm-secrets-[a-z0-9]+$/);
    const refs = objs.filter((o) => o.kind === 'Deployment').flatMap((d) => JSON.stringify(d).match(/"secretRef":\{"name":"[^"]+"\}/g) ?? []);
    expect(new Set(refs)).toEqual(new Set([`"secretRef":{"name":"${secret}"}`]));
  });
});
