/**
 * What a deploy runs, short of a cluster: the kustomizations build with the real kustomize
 * (`kubectl kustomize`, when kubectl is on PATH), the built CLI answers the commands the
 * manifests give it, and the exporter serves the metric the consumers scale on.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { COMMANDS } from '../../src/cli/main.js';
import { QUEUE_DEPTH_METRIC } from '../../src/shared/scaling.js';
import { ROOT, runCli, startService } from '../helpers/cli.js';
import type { RunningService } from '../helpers/cli.js';
import { KUSTOMIZE_SETS, MODELS, at, containersOf, forSchemaCheck, loadManifests, modelKey, podSpec } from '../helpers/manifests.js';
import { loadConfig } from '../../src/shared/config/config.js';
import type { Obj } from '../helpers/manifests.js';
import { freshPrefix, startTestRedis } from '../helpers/redis.js';
import type { LocalRedis } from '../helpers/redis.js';

const kubectl = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' });
const hasKustomize = kubectl.status === 0 && /Kustomize Version/.test(kubectl.stdout);

function kustomize(dir: string): Obj[] {
  const out = spawnSync('kubectl', ['kustomize', path.join(ROOT, dir)], { encoding: 'utf8' });
  if (out.status !== 0) throw new Error(`kubectl kustomize ${dir}: ${out.stderr}`);
  return parseAllDocuments(out.stdout).map((d) => d.toJS() as Obj);
}

/** The Secrets users create by hand, by name: their keys, from the examples in k8s/examples/. */
const exampleSecrets = new Map(
  loadManifests()
    .filter((d) => d.file.startsWith('k8s/examples/') && d.obj.kind === 'Secret')
    .map((d) => [d.obj.metadata.name, at<Record<string, string>>(d.obj, 'stringData')]),
);

const services: RunningService[] = [];
let redis: LocalRedis | undefined;
afterAll(async () => {
  await Promise.all(services.map((s) => s.stop()));
  await redis?.stop();
});

describe('kustomize builds (kubectl kustomize; skipped when kubectl is not installed)', () => {
  it
    .skipIf(!hasKustomize)
    .each([
      ['k8s'],
      ['knative'],
      ['knative/broker-trigger'],
      ['k8s/output-pvc'],
      ['knative/output-pvc'],
      ['k8s/s3-compatible'],
      ['knative/s3-compatible'],
      ['k8s/gpu'],
      ['knative/gpu'],
    ])('%s builds, and every built object validates', (dir) => {
    const built = kustomize(dir);
    expect(built.length).toBeGreaterThan(0);
    for (const obj of built) {
      const Model = MODELS[modelKey(obj)];
      expect(Model, modelKey(obj)).toBeDefined();
      expect(
        () => new (Model as NonNullable<typeof Model>)(forSchemaCheck(obj)).validate(),
        `${obj.kind}/${obj.metadata.name}`,
      ).not.toThrow();
    }
  });

  it.skipIf(!hasKustomize).each(KUSTOMIZE_SETS)(
    '%s: producer and consumers write where OUTPUT_URL points, with what that needs in the same build',
    (dir) => {
      const built = kustomize(dir);
      const byName = (kind: string, name: string): Obj | undefined => built.find((o) => o.kind === kind && o.metadata.name === name);
      const data = at<Record<string, string>>(byName('ConfigMap', 'batchinfer-config'), 'data');
      const config = loadConfig(data);
      const workloads = built.filter((o) => ['producer', 'consumer'].includes(containersOf(o)[0]?.args?.[0] ?? ''));
      expect(workloads).toHaveLength(2);
      if (dir.endsWith('output-pvc')) {
        expect(config.outputUrl).toBe('file:///data/output');
        expect(at(byName('PersistentVolumeClaim', 'batchinfer-output'), 'spec', 'accessModes')).toEqual(['ReadWriteMany']);
      } else {
        expect(config.outputUrl).toMatch(/^s3:\/\//);
        expect(byName('PersistentVolumeClaim', 'batchinfer-output')).toBeUndefined();
      }
      if (dir.endsWith('s3-compatible')) {
        expect(data.AWS_ENDPOINT_URL_S3).toMatch(/^https?:\/\//);
        expect(config.s3ForcePathStyle).toBe(true);
      }
      for (const obj of workloads) {
        const [container] = containersOf(obj);
        const volumes = at<{ name: string; persistentVolumeClaim?: { claimName: string } }[] | undefined>(podSpec(obj), 'volumes') ?? [];
        const mount = container?.volumeMounts?.find((m) => m.name === 'output');
        if (dir.endsWith('output-pvc')) {
          expect(mount?.mountPath && config.outputUrl.startsWith(`file://${mount.mountPath}/`), obj.metadata.name).toBe(true);
          expect(volumes.find((v) => v.name === 'output')?.persistentVolumeClaim?.claimName).toBe('batchinfer-output');
        } else {
          expect(mount).toBeUndefined();
        }
        expect(byName('ServiceAccount', at<string>(podSpec(obj), 'serviceAccountName'))).toBeDefined();
        // Every secret key a container reads is one the examples (created by hand, never applied by the set) say to create.
        for (const e of container?.env ?? []) {
          const ref = e.valueFrom?.secretKeyRef;
          if (ref) expect(Object.keys(exampleSecrets.get(ref.name) ?? {}), `${ref.name}/${ref.key}`).toContain(ref.key);
        }
        const keys = (container?.env ?? []).map((e) => e.name);
        if (dir.endsWith('s3-compatible')) expect(keys).toEqual(expect.arrayContaining(['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY']));
        else expect(keys).not.toContain('AWS_SECRET_ACCESS_KEY');
      }
    },
  );

  it.skipIf(!hasKustomize).each(KUSTOMIZE_SETS)(
    '%s: consumers hold a GPU only in the gpu overlays, and are priced and run for it',
    (dir) => {
      const built = kustomize(dir);
      const data = at<Record<string, string>>(
        built.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'batchinfer-config'),
        'data',
      );
      for (const obj of built.filter((o) => ['producer', 'consumer'].includes(containersOf(o)[0]?.args?.[0] ?? ''))) {
        const [container] = containersOf(obj);
        const role = container?.args?.[0];
        // The configuration the container starts with: the ConfigMap, overridden by its own env.
        const env = Object.fromEntries((container?.env ?? []).filter((e) => e.value !== undefined).map((e) => [e.name, e.value as string]));
        const config = loadConfig({ ...data, ...env });
        const gpus = container?.resources?.limits?.['nvidia.com/gpu'];
        const spec = podSpec(obj);
        if (dir.endsWith('gpu') && role === 'consumer') {
          expect(gpus).toBe('1');
          // Priced by the limit it runs under, on the provider that uses it.
          expect(config.gpuLimit).toBe(Number(gpus));
          expect(config.costPerGpuHour).toBeGreaterThan(0);
          expect(config.onnxExecutionProvider).toBe('cuda');
          expect(at(spec, 'nodeSelector')).toEqual({ 'nvidia.com/gpu.present': 'true' });
          expect(at(spec, 'tolerations')).toEqual([{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }]);
          // The CPU and memory limits and their prices are untouched.
          expect(container?.resources?.limits).toMatchObject({ cpu: '500m', memory: '512Mi' });
        } else {
          expect(gpus, `${dir} ${role}`).toBeUndefined();
          expect(config.gpuLimit).toBe(0);
          expect(config.onnxExecutionProvider).toBe('cpu');
          expect(at(spec, 'tolerations')).toBeUndefined();
        }
      }
    },
  );

  it.skipIf(!hasKustomize).each(KUSTOMIZE_SETS.map((dir) => [dir]))(
    '%s applies no example secret (examples live in k8s/examples/, applied by hand)',
    (dir) => {
      const examples = kustomize(dir).filter((o) => o.kind === 'Secret' || (o.metadata.annotations ?? {})['batchinfer.dev/example-values']);
      expect(examples.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual([]);
    },
  );

  it.skipIf(!hasKustomize)('the plain and Knative sets differ only in how producer, consumer and schedules run', () => {
    const names = (objs: Obj[]): string[] => objs.map((o) => `${o.kind}/${o.metadata.name}`).sort();
    const plain = names(kustomize('k8s'));
    const knative = names(kustomize('knative'));
    const shared = loadManifests()
      .filter((d) => d.file.startsWith('k8s/base/'))
      .map((d) => `${d.obj.kind}/${d.obj.metadata.name}`);
    for (const name of shared) {
      expect(plain).toContain(name);
      expect(knative).toContain(name);
    }
    expect(plain).toEqual(expect.arrayContaining(['Deployment/consumer', 'ScaledObject/consumer', 'CronJob/nightly-scoring']));
    expect(knative).toEqual(
      expect.arrayContaining(['Service/consumer', 'PingSource/nightly-scoring', 'SinkBinding/consumer-completion-events']),
    );
    expect(knative).not.toContain('ScaledObject/consumer'); // the extension creates one per revision
  });
});

describe('the built CLI the image runs', () => {
  it('lists the commands the manifests start', async () => {
    const help = await runCli(['--help']);
    expect(help.code).toBe(0);
    for (const command of Object.keys(COMMANDS)) expect(help.stdout).toContain(command);
    const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { bin: Record<string, string> };
    expect(existsSync(path.join(ROOT, pkg.bin.batchinfer ?? ''))).toBe(true);
  });

  it.skipIf(!('exporter' in COMMANDS))('exporter (issue 4) serves the depth metric KEDA queries, and its probe routes', async () => {
    redis = await startTestRedis();
    const exporter = await startService('exporter', { REDIS_URL: redis.url, QUEUE_PREFIX: freshPrefix('exp') });
    services.push(exporter);
    const metrics = await (await fetch(`${exporter.url}/metrics`)).text();
    expect(metrics).toMatch(new RegExp(`^${QUEUE_DEPTH_METRIC}\\{[^}]*queue="chunks"[^}]*\\} \\d`, 'm'));
    expect((await fetch(`${exporter.url}/readyz`)).status).toBe(200);
  });
});
