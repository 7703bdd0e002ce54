/**
 * The deployment manifests under `k8s/` and `knative/`, read as users' `kubectl` would:
 * every YAML document of every file, with helpers to find objects and the batchinfer
 * containers in them, and a schema check per document with the `kubernetes-models` classes.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { Broker } from '@kubernetes-models/knative/eventing.knative.dev/v1/Broker';
import { Trigger } from '@kubernetes-models/knative/eventing.knative.dev/v1/Trigger';
import { Service as KnativeService } from '@kubernetes-models/knative/serving.knative.dev/v1/Service';
import { PingSource } from '@kubernetes-models/knative/sources.knative.dev/v1/PingSource';
import { SinkBinding } from '@kubernetes-models/knative/sources.knative.dev/v1/SinkBinding';
import { ScaledObject } from '@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject';
import { PrometheusRule } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule';
import { ServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { StatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import { CronJob } from 'kubernetes-models/batch/v1/CronJob';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { PersistentVolumeClaim } from 'kubernetes-models/v1/PersistentVolumeClaim';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Service } from 'kubernetes-models/v1/Service';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import { ROOT } from './cli.js';

/** Loosely typed Kubernetes object: tests walk it by path. */
export type Obj = Record<string, unknown> & {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
};

export interface ManifestDoc {
  /** Path relative to the repository root. */
  file: string;
  obj: Obj;
}

type ModelClass = new (data: unknown) => { validate(): void };

/** The model class (its JSON schema) for every apiVersion/kind the manifests may use. */
export const MODELS: Record<string, ModelClass> = Object.fromEntries(
  (
    [
      ['v1/Namespace', Namespace],
      ['v1/ConfigMap', ConfigMap],
      ['v1/Secret', Secret],
      ['v1/Service', Service],
      ['v1/ServiceAccount', ServiceAccount],
      ['v1/PersistentVolumeClaim', PersistentVolumeClaim],
      ['apps/v1/Deployment', Deployment],
      ['apps/v1/StatefulSet', StatefulSet],
      ['batch/v1/CronJob', CronJob],
      ['policy/v1/PodDisruptionBudget', PodDisruptionBudget],
      ['monitoring.coreos.com/v1/ServiceMonitor', ServiceMonitor],
      ['monitoring.coreos.com/v1/PrometheusRule', PrometheusRule],
      ['keda.sh/v1alpha1/ScaledObject', ScaledObject],
      ['serving.knative.dev/v1/Service', KnativeService],
      ['sources.knative.dev/v1/PingSource', PingSource],
      ['sources.knative.dev/v1/SinkBinding', SinkBinding],
      ['eventing.knative.dev/v1/Broker', Broker],
      ['eventing.knative.dev/v1/Trigger', Trigger],
    ] as [string, unknown][]
  ).map(([key, model]) => [key, model as ModelClass]),
);

/**
 * Documents as the schema check sees them. The SinkBinding model's schema (generated from
 * the Go type, whose `status` has no omitempty) requires `status`, which only the API
 * server writes: an empty one is added for the check, nothing else is changed.
 */
export function forSchemaCheck(obj: Obj): Obj {
  return obj.kind === 'SinkBinding' && obj.status === undefined ? { ...obj, status: {} } : obj;
}

export const MANIFEST_DIRS = ['k8s', 'knative'];

/** What users apply with `kubectl apply -k`: each variant with object storage, and its output-pvc, s3-compatible and gpu overlays. */
export const KUSTOMIZE_SETS = [
  'k8s',
  'knative',
  'k8s/output-pvc',
  'knative/output-pvc',
  'k8s/s3-compatible',
  'knative/s3-compatible',
  'k8s/gpu',
  'knative/gpu',
];

/** Every `.yaml`/`.yml` file under the manifest folders, relative to the repository root. */
export function manifestFiles(): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(path.join(ROOT, dir), { withFileTypes: true })) {
      const rel = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(rel);
      else if (/\.ya?ml$/.test(entry.name)) out.push(rel);
    }
  };
  for (const dir of MANIFEST_DIRS) walk(dir);
  return out.sort();
}

export function readYamlDocs(file: string): unknown[] {
  const docs = parseAllDocuments(readFileSync(path.join(ROOT, file), 'utf8'));
  for (const doc of docs) if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors.map((e) => e.message).join('; ')}`);
  return docs.map((d) => d.toJS() as unknown).filter((d) => d !== null && d !== undefined);
}

/** All Kubernetes objects (kustomization files left out). */
export function loadManifests(): ManifestDoc[] {
  return manifestFiles()
    .filter((f) => path.basename(f) !== 'kustomization.yaml')
    .flatMap((file) => readYamlDocs(file).map((obj) => ({ file, obj: obj as Obj })));
}

export const modelKey = (obj: Obj): string => `${obj.apiVersion}/${obj.kind}`;

export function find(docs: ManifestDoc[], apiVersion: string, kind: string, name: string, dirPrefix?: string): Obj {
  const hit = docs.find(
    (d) =>
      d.obj.apiVersion === apiVersion &&
      d.obj.kind === kind &&
      d.obj.metadata.name === name &&
      (!dirPrefix || d.file.startsWith(dirPrefix)),
  );
  if (!hit) throw new Error(`no ${apiVersion} ${kind} ${name}${dirPrefix ? ` under ${dirPrefix}` : ''}`);
  return hit.obj;
}

/** Walks `obj` along `keys` (object keys or array indexes). */
export function at<T = unknown>(obj: unknown, ...keys: (string | number)[]): T {
  let cur: unknown = obj;
  for (const k of keys) cur = (cur as Record<string | number, unknown> | undefined)?.[k];
  return cur as T;
}

export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { name: string; key: string }; configMapKeyRef?: { name: string; key: string } };
}

export interface Container {
  name: string;
  image: string;
  args?: string[];
  env?: EnvVar[];
  envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
  ports?: { name?: string; containerPort: number }[];
  readinessProbe?: { httpGet?: { path: string; port?: string | number } };
  livenessProbe?: { httpGet?: { path: string; port?: string | number } };
  resources?: { limits?: Record<string, string>; requests?: Record<string, string> };
  volumeMounts?: { name: string; mountPath: string }[];
}

/** The pod spec of a workload (Deployment, StatefulSet, CronJob, Knative Service), if it has one. */
export function podSpec(obj: Obj): Record<string, unknown> | undefined {
  if (obj.kind === 'CronJob') return at(obj, 'spec', 'jobTemplate', 'spec', 'template', 'spec');
  if (['Deployment', 'StatefulSet'].includes(obj.kind) || (obj.kind === 'Service' && obj.apiVersion.startsWith('serving.knative.dev'))) {
    return at(obj, 'spec', 'template', 'spec');
  }
  return undefined;
}

export const containersOf = (obj: Obj): Container[] => at<Container[] | undefined>(podSpec(obj), 'containers') ?? [];

export const envValue = (c: Container, name: string): string | undefined => c.env?.find((e) => e.name === name)?.value;
