// Rules every rendered Kubernetes overlay of the product must keep (infra/k8s): probes on
// the health endpoints, requests and limits, a non-root locked-down container, a PDB
// per Deployment and StatefulSet, closed-by-default network policies that open only
// ingest and the gateway to any source and admit every port a Service exposes, no LoadBalancer but the gateway's, engine replicas within the
// partition count, and the insights warehouse as one replica on a persistent volume.
import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';

export const K8S_DIR = join(__dirname, '..', '..', '..', 'infra', 'k8s');

/** A rendered object, loosely typed: the checks below read what they need. */
export interface K8sObject { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string> }; [k: string]: unknown }

/** Services that may be reached from outside the cluster. */
export const PUBLIC_SERVICES = new Set(['ingest', 'board-gateway']);

/** Secrets a production overlay leaves to be created out of band, under their base names. */
export const OUT_OF_BAND_SECRETS = new Set(['pfm-secrets', 'pfm-insights', 'pfm-kafka', 'pfm-registry']);

/** `kubectl kustomize DIR`, parsed; fails on any error or warning on stderr. */
export function renderOverlay(dir: string): K8sObject[] {
  const r = spawnSync('kubectl', ['kustomize', dir], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if ((r.error as { code?: string } | undefined)?.code === 'ENOENT') throw new Error('kubectl not found: the manifest test needs kubectl 1.21+ (Kustomize v4+)');
  if (r.status !== 0 || r.stderr.trim()) throw new Error(`kubectl kustomize ${dir}: exit ${String(r.status)}: ${r.stderr.trim()}`);
  return parseAllDocuments(r.stdout).map((d) => d.toJS() as K8sObject).filter((o) => o && typeof o === 'object');
}

/** The Kustomize version inside kubectl, as [major, minor]. */
export function kustomizeVersion(): [number, number] {
  const v = JSON.parse(execFileSync('kubectl', ['version', '--client', '-o', 'json'], { encoding: 'utf8' })) as { kustomizeVersion?: string };
  const m = /^v(\d+)\.(\d+)/.exec(v.kustomizeVersion ?? '');
  if (!m) throw new Error(`kubectl reports no Kustomize version (${v.kustomizeVersion ?? 'none'})`);
  return [Number(m[1]), Number(m[2])];
}

type Obj = Record<string, unknown>;
const get = (o: unknown, path: string): unknown => path.split('.').reduce<unknown>((a, k) => (a && typeof a === 'object' ? (a as Obj)[k] : undefined), o);
const list = (o: unknown, path: string): Obj[] => (Array.isArray(get(o, path)) ? (get(o, path) as Obj[]) : []);

/** Every rule broken by the rendered objects, one line each; [] when all hold. */
export function checkManifests(objects: K8sObject[], namespace: string): string[] {
  const problems: string[] = [];
  const kind = (k: string) => objects.filter((o) => o.kind === k);
  const config = Object.assign({}, ...kind('ConfigMap').map((c) => (c.data as Record<string, string> | undefined) ?? {})) as Record<string, string>;
  const secrets = new Set(kind('Secret').map((s) => s.metadata.name));
  const configMaps = new Set(kind('ConfigMap').map((s) => s.metadata.name));

  for (const o of objects) {
    if (o.kind !== 'Namespace' && o.metadata.namespace !== namespace) problems.push(`${o.kind}/${o.metadata.name}: namespace ${o.metadata.namespace ?? '(none)'}, not ${namespace}`);
  }
  for (const d of [...kind('Deployment'), ...kind('StatefulSet')]) {
    const name = `${d.kind}/${d.metadata.name}`;
    const pod = get(d, 'spec.template.spec');
    const podSc = get(pod, 'securityContext');
    if (get(pod, 'automountServiceAccountToken') !== false) problems.push(`${name}: mounts a service account token`);
    for (const c of list(pod, 'containers')) {
      const cn = `${name} container ${String(c.name)}`;
      const ports = new Set(list(c, 'ports').map((p) => p.name));
      for (const [probe, path] of [['readinessProbe', '/readyz'], ['livenessProbe', '/healthz']] as const) {
        if (get(c, `${probe}.httpGet.path`) !== path) problems.push(`${cn}: ${probe} is not an HTTP GET of ${path}`);
        else if (!ports.has(get(c, `${probe}.httpGet.port`))) problems.push(`${cn}: ${probe} names a port the container does not declare`);
      }
      for (const r of ['requests.cpu', 'requests.memory', 'limits.cpu', 'limits.memory']) if (get(c, `resources.${r}`) === undefined) problems.push(`${cn}: no resources.${r}`);
      const sc = get(c, 'securityContext');
      if (get(sc, 'runAsNonRoot') !== true && get(podSc, 'runAsNonRoot') !== true) problems.push(`${cn}: may run as root (runAsNonRoot not set)`);
      if (get(sc, 'allowPrivilegeEscalation') !== false) problems.push(`${cn}: allowPrivilegeEscalation is not false`);
      if (get(sc, 'readOnlyRootFilesystem') !== true) problems.push(`${cn}: root filesystem is writable`);
      if (!((get(sc, 'capabilities.drop') as string[] | undefined) ?? []).includes('ALL')) problems.push(`${cn}: capabilities not dropped`);
      for (const ref of list(c, 'envFrom')) {
        const s = get(ref, 'secretRef.name') as string | undefined;
        const m = get(ref, 'configMapRef.name') as string | undefined;
        // A production overlay leaves the secret to be created out of band, under its base name.
        if (s && !secrets.has(s) && !OUT_OF_BAND_SECRETS.has(s)) problems.push(`${cn}: secret ${s} is not rendered`);
        if (m && !configMaps.has(m)) problems.push(`${cn}: config map ${m} is not rendered`);
      }
      for (const e of list(c, 'env')) {
        const s = get(e, 'valueFrom.secretKeyRef.name') as string | undefined;
        if (s && !secrets.has(s) && !OUT_OF_BAND_SECRETS.has(s)) problems.push(`${cn}: secret ${s} is not rendered`);
      }
    }
    const labels = get(d, 'spec.selector.matchLabels') as Record<string, string>;
    const pdb = kind('PodDisruptionBudget').find((p) => JSON.stringify(get(p, 'spec.selector.matchLabels')) === JSON.stringify(labels));
    if (!pdb) problems.push(`${name}: no PodDisruptionBudget selects it`);
  }
  const engine = kind('Deployment').find((d) => d.metadata.name === 'flow-engine');
  const partitions = Number(config.PFM_TOPIC_PARTITIONS);
  if (!engine) problems.push('no flow-engine Deployment');
  else if (!(Number(get(engine, 'spec.replicas') ?? 1) <= partitions)) problems.push(`flow-engine: ${String(get(engine, 'spec.replicas'))} replicas for ${config.PFM_TOPIC_PARTITIONS} partitions (the extra members would sit idle)`);

  problems.push(...checkInsights(kind('StatefulSet').find((s) => s.metadata.name === 'insights')));

  for (const s of kind('Service')) {
    const type = (get(s, 'spec.type') as string | undefined) ?? 'ClusterIP';
    if (type === 'LoadBalancer' && s.metadata.name !== 'board-gateway') problems.push(`Service/${s.metadata.name}: type LoadBalancer (only the gateway's may be)`);
    if (type === 'NodePort') problems.push(`Service/${s.metadata.name}: type NodePort`);
  }

  const policies = kind('NetworkPolicy');
  const denyAll = policies.some((p) => JSON.stringify(get(p, 'spec.podSelector')) === '{}' && ((get(p, 'spec.policyTypes') as string[] | undefined) ?? []).includes('Ingress') && list(p, 'spec.ingress').length === 0);
  if (!denyAll) problems.push('no default-deny ingress NetworkPolicy');
  for (const p of policies) {
    const selected = (get(p, 'spec.podSelector.matchLabels') as Record<string, string> | undefined)?.['app.kubernetes.io/name'];
    const fromAnywhere = list(p, 'spec.ingress').some((r) => !Array.isArray(r.from) || r.from.length === 0);
    if (fromAnywhere && !(selected && PUBLIC_SERVICES.has(selected))) problems.push(`NetworkPolicy/${p.metadata.name}: opens ${selected ?? 'every pod'} to any source`);
  }
  problems.push(...unreachablePorts(kind('Service'), [...kind('Deployment'), ...kind('StatefulSet')], policies));
  return problems;
}

/**
 * Under a default deny, a Service port that no policy admits answers nobody: every port
 * a Service exposes must be admitted (from somewhere) by a policy that selects its pods.
 */
function unreachablePorts(services: K8sObject[], workloads: K8sObject[], policies: K8sObject[]): string[] {
  const problems: string[] = [];
  const app = (labels: unknown) => (labels as Record<string, string> | undefined)?.['app.kubernetes.io/name'];
  for (const s of services) {
    const name = app(get(s, 'spec.selector'));
    if (!name) continue;
    const containerPorts = workloads.filter((w) => app(get(w, 'spec.selector.matchLabels')) === name)
      .flatMap((w) => list(w, 'spec.template.spec.containers').flatMap((c) => list(c, 'ports')));
    const rules = policies.filter((p) => { const sel = get(p, 'spec.podSelector.matchLabels'); return sel === undefined || app(sel) === name; }).flatMap((p) => list(p, 'spec.ingress'));
    for (const sp of list(s, 'spec.ports')) {
      const target = (get(sp, 'targetPort') ?? get(sp, 'port')) as string | number;
      const number = typeof target === 'number' ? target : (containerPorts.find((c) => c.name === target)?.containerPort as number | undefined);
      const admitted = rules.some((r) => !Array.isArray(r.ports) || r.ports.length === 0 || (r.ports as Obj[]).some((pp) => pp.port === number || (typeof target === 'string' && pp.port === target)));
      if (!admitted) problems.push(`Service/${s.metadata.name} port ${String(get(sp, 'name') ?? get(sp, 'port'))} (${String(number ?? target)}): no NetworkPolicy admits it`);
    }
  }
  return problems;
}

/**
 * The insights warehouse: DuckDB locks its file and allows one writer, so exactly one
 * replica; the file (PFM_INSIGHTS_DB) on a volume claimed by the StatefulSet, so it
 * survives the pod; the pseudonymisation key from a secret, never a literal.
 */
function checkInsights(s: K8sObject | undefined): string[] {
  if (!s) return ['no insights StatefulSet'];
  const problems: string[] = [];
  const replicas = Number(get(s, 'spec.replicas') ?? 1);
  if (replicas !== 1) problems.push(`insights: ${replicas} replicas (DuckDB allows one writer per warehouse file)`);
  const c = list(s, 'spec.template.spec.containers').find((x) => x.name === 'insights');
  if (!c) return [...problems, 'insights: no insights container'];
  const env = (n: string) => list(c, 'env').find((e) => e.name === n);
  const db = get(env('PFM_INSIGHTS_DB'), 'value') as string | undefined;
  const claims = new Set(list(s, 'spec.volumeClaimTemplates').map((t) => get(t, 'metadata.name')));
  const onClaim = list(c, 'volumeMounts').some((m) => claims.has(m.name) && typeof m.mountPath === 'string' && db?.startsWith(`${m.mountPath.replace(/\/$/, '')}/`));
  if (!onClaim) problems.push(`insights: PFM_INSIGHTS_DB (${db ?? 'unset'}) is not on a volume claimed by the StatefulSet`);
  if (get(env('PFM_INSIGHTS_SECRET'), 'valueFrom.secretKeyRef.name') === undefined) problems.push('insights: PFM_INSIGHTS_SECRET does not come from a secret');
  return problems;
}
