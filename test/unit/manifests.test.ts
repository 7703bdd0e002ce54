/**
 * The deployment manifests (k8s/, knative/) and the Dockerfile, checked without a cluster:
 * every document validates against its API schema, and the pieces fit together (commands,
 * environment variables, ports, probes, the scale query, the drain budget, references
 * between objects, kustomizations). A cluster cannot run here; these checks are what can.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { COMMANDS } from '../../src/cli/main.js';
import { scheduledSubmission } from '../../src/producer/scheduled-event.js';
import { CONFIG_VARIABLES, loadConfig } from '../../src/shared/config/config.js';
import type { Service } from '../../src/shared/config/config.js';
import { SCALE_QUERY, QUEUE_DEPTH_METRIC } from '../../src/shared/scaling.js';
import { expandTimePlaceholders } from '../../src/shared/time-template.js';
import { ROOT } from '../helpers/cli.js';
import {
  KUSTOMIZE_SETS,
  MODELS,
  at,
  containersOf,
  envValue,
  find,
  forSchemaCheck,
  loadManifests,
  manifestFiles,
  modelKey,
  podSpec,
  readYamlDocs,
} from '../helpers/manifests.js';
import type { Container, Obj } from '../helpers/manifests.js';

const docs = loadManifests();
const IMAGE = 'dev.local/batchinfer:0.1.0';
const NAMESPACE = 'batchinfer';
/** Knative's queue-proxy drains this long (drainSleepDuration) before the container gets SIGTERM. */
const KNATIVE_PRESTOP_DRAIN_S = 30;
/** The drain's hard deadline beyond DRAIN_TIMEOUT_SECONDS (src/cli/service-commands.ts). */
const DRAIN_EXTRA_S = 10;
/** Environment variables Knative sets itself and refuses in a Service's container. */
const KNATIVE_RESERVED_ENV = ['PORT', 'K_SERVICE', 'K_CONFIGURATION', 'K_REVISION'];
/** The metric names agreed for the exporter (issue 4; shared names in the project brief). */
const SHARED_METRICS = [
  'batchinfer_queue_depth',
  'batchinfer_queue_jobs',
  'batchinfer_queue_oldest_waiting_age_seconds',
  'batchinfer_chunk_wait_seconds',
  'batchinfer_chunk_processing_seconds',
  'batchinfer_records_total',
  'batchinfer_chunk_failures_total',
  'batchinfer_cost_usd_total',
  'batchinfer_cpu_seconds_total',
  'batchinfer_batches',
  'batchinfer_schedule_last_start_timestamp_seconds',
  'batchinfer_budget_used_ratio',
];

const batchinferContainers = (): { file: string; obj: Obj; container: Container }[] =>
  docs.flatMap(({ file, obj }) =>
    containersOf(obj)
      .filter((c) => c.image === IMAGE)
      .map((container) => ({ file, obj, container })),
  );

const isKnativeService = (obj: Obj): boolean => obj.apiVersion === 'serving.knative.dev/v1' && obj.kind === 'Service';

/** The configuration's variable definitions, by name. */
const VARIABLES = new Map(CONFIG_VARIABLES.map((v) => [v.name, v]));
/** The service (as variable definitions name them) each command of the image runs as. */
const SERVICE_OF_COMMAND: Record<string, Service> = { producer: 'producer', consumer: 'consumer', exporter: 'exporter', submit: 'client' };

describe('manifests validate against their API schemas', () => {
  it('finds the manifests of both variants', () => {
    expect(docs.length).toBeGreaterThan(20);
    expect(docs.every((d) => d.obj.apiVersion && d.obj.kind && d.obj.metadata.name)).toBe(true);
  });

  it.each(docs.map((d) => [`${d.file}: ${d.obj.kind} ${d.obj.metadata.name}`, d] as const))('%s', (_name, { obj }) => {
    const Model = MODELS[modelKey(obj)];
    expect(Model, `no schema model for ${modelKey(obj)}`).toBeDefined();
    expect(() => new (Model as NonNullable<typeof Model>)(forSchemaCheck(obj)).validate()).not.toThrow();
  });

  it('a schema check does catch a broken document', () => {
    const producer = structuredClone(find(docs, 'serving.knative.dev/v1', 'Service', 'producer'));
    (at<Container[]>(producer, 'spec', 'template', 'spec', 'containers')[0] as unknown as Record<string, unknown>).ports = [
      { containerPort: 'eighty' },
    ];
    expect(() => new (MODELS[modelKey(producer)] as NonNullable<(typeof MODELS)[string]>)(producer).validate()).toThrow();
  });

  it('puts every namespaced object in the batchinfer namespace', () => {
    const stray = docs.filter((d) => d.obj.kind !== 'Namespace' && d.obj.metadata.namespace !== NAMESPACE);
    expect(stray.map((d) => `${d.file} ${d.obj.kind}/${d.obj.metadata.name}`)).toEqual([]);
  });
});

describe('the pieces fit', () => {
  it('runs one image, whose args name real CLI commands', () => {
    const all = batchinferContainers();
    expect(all.length).toBeGreaterThanOrEqual(6);
    // `exporter` is the agreed name of issue 4's command; until it is in COMMANDS it is taken on trust.
    const commands = new Set([...Object.keys(COMMANDS), 'exporter']);
    for (const { file, container } of all) {
      const command = container.args?.[0] ?? '';
      expect([...commands], `${file} ${container.name}`).toContain(command);
    }
    const used = new Set(all.map((c) => c.container.args?.[0]));
    expect([...used].sort()).toEqual(['consumer', 'exporter', 'producer', 'submit']);
  });

  it('sets only variables the configuration defines, each on a command that reads it', () => {
    const config = find(docs, 'v1', 'ConfigMap', 'batchinfer-config');
    const servicesLoadingConfigMap = new Set<Service>();
    for (const { file, container } of batchinferContainers()) {
      const service = SERVICE_OF_COMMAND[container.args?.[0] ?? ''];
      expect(service, `${file}: ${container.name} runs no known command`).toBeDefined();
      if (container.envFrom?.some((f) => f.configMapRef?.name === 'batchinfer-config')) servicesLoadingConfigMap.add(service as Service);
      for (const { name } of container.env ?? []) {
        const variable = VARIABLES.get(name);
        expect(variable, `${file}: ${name} is not defined in src/shared/config/`).toBeDefined();
        expect(variable?.services, `${file}: ${name} does nothing for \`${container.args?.[0] ?? ''}\``).toContain(service);
      }
    }
    // The ConfigMap is shared: each of its settings must matter to one of the services that load it.
    expect(servicesLoadingConfigMap.size).toBeGreaterThan(0);
    for (const name of Object.keys(at<Record<string, string>>(config, 'data'))) {
      const variable = VARIABLES.get(name);
      expect(variable, `batchinfer-config: ${name} is not defined in src/shared/config/`).toBeDefined();
      expect(
        variable?.services.some((s) => servicesLoadingConfigMap.has(s)),
        `batchinfer-config: ${name} does nothing for ${[...servicesLoadingConfigMap].join(', ')}`,
      ).toBe(true);
    }
    // Every value in the ConfigMap is one the config accepts.
    expect(() => loadConfig(at<Record<string, string>>(config, 'data'))).not.toThrow();
  });

  it('references only secrets, keys and config maps that exist', () => {
    const secret = find(docs, 'v1', 'Secret', 'batchinfer-secrets');
    const keys = Object.keys(at<Record<string, string>>(secret, 'stringData'));
    for (const { file, obj } of docs) {
      for (const c of containersOf(obj)) {
        for (const e of c.env ?? []) {
          const ref = e.valueFrom?.secretKeyRef;
          if (ref) expect(`${ref.name}/${ref.key}`, file).toBe(`batchinfer-secrets/${keys.find((k) => k === ref.key) ?? '?'}`);
        }
        for (const from of c.envFrom ?? []) expect(from.configMapRef?.name, file).toBe('batchinfer-config');
      }
    }
    expect(at(secret, 'metadata', 'annotations', 'batchinfer.dev/example-values')).toBe('true');
  });

  it('listens where the probes, Services and ServiceMonitor look', () => {
    for (const { file, obj, container } of batchinferContainers()) {
      const command = container.args?.[0];
      if (command === 'submit') continue;
      const [port] = container.ports ?? [];
      expect(port?.containerPort, file).toBe(8080);
      if (isKnativeService(obj)) {
        // Knative sets PORT to the declared containerPort; probes may only name that port.
        expect(port?.name).toBe('http1');
        expect(container.readinessProbe?.httpGet?.port, file).toBe(port?.containerPort);
        expect(container.livenessProbe?.httpGet?.port, file).toBe(port?.containerPort);
        for (const reserved of KNATIVE_RESERVED_ENV) expect(envValue(container, reserved), `${file} sets ${reserved}`).toBeUndefined();
      } else {
        expect(envValue(container, 'PORT'), file).toBe(String(port?.containerPort));
        expect(container.readinessProbe?.httpGet?.port, file).toBe(port?.name);
      }
      expect(container.readinessProbe?.httpGet?.path, file).toBe('/readyz');
      expect(container.livenessProbe?.httpGet?.path, file).toBe('/healthz');
    }
    // Services select their pods and target named container ports.
    for (const { file, obj } of docs.filter((d) => d.obj.apiVersion === 'v1' && d.obj.kind === 'Service')) {
      const selector = at<Record<string, string>>(obj, 'spec', 'selector');
      const workload = docs.find(
        (d) =>
          ['Deployment', 'StatefulSet'].includes(d.obj.kind) &&
          Object.entries(selector).every(([k, v]) => at(d.obj, 'spec', 'template', 'metadata', 'labels', k) === v),
      );
      expect(workload, `${file}: nothing matches ${JSON.stringify(selector)}`).toBeDefined();
      const names = containersOf((workload as NonNullable<typeof workload>).obj).flatMap((c) => (c.ports ?? []).map((p) => p.name));
      for (const p of at<{ targetPort: string }[]>(obj, 'spec', 'ports')) expect(names, file).toContain(p.targetPort);
    }
    const monitor = find(docs, 'monitoring.coreos.com/v1', 'ServiceMonitor', 'batchinfer-exporter');
    const exporterService = find(docs, 'v1', 'Service', 'exporter');
    expect(at(exporterService, 'metadata', 'labels')).toMatchObject(at<Record<string, string>>(monitor, 'spec', 'selector', 'matchLabels'));
    expect(at<{ name: string }[]>(exporterService, 'spec', 'ports').map((p) => p.name)).toContain(
      at(monitor, 'spec', 'endpoints', 0, 'port'),
    );
    expect(at(monitor, 'spec', 'endpoints', 0, 'path')).toBe('/metrics');
  });

  it('runs two exporters that a voluntary disruption cannot both take down', () => {
    const exporter = find(docs, 'apps/v1', 'Deployment', 'exporter');
    expect(containersOf(exporter)[0]?.args).toEqual(['exporter']);
    const replicas = at<number>(exporter, 'spec', 'replicas');
    expect(replicas).toBe(2);
    const budget = find(docs, 'policy/v1', 'PodDisruptionBudget', 'exporter');
    const minAvailable = at<number>(budget, 'spec', 'minAvailable');
    expect(minAvailable).toBeGreaterThanOrEqual(1);
    expect(minAvailable, 'a budget as large as the replica count blocks every node drain').toBeLessThan(replicas);
    expect(at(budget, 'spec', 'selector', 'matchLabels')).toEqual(at(exporter, 'spec', 'selector', 'matchLabels'));
    // The page's history is per replica: a browser stays on one.
    expect(at(find(docs, 'v1', 'Service', 'exporter'), 'spec', 'sessionAffinity')).toBe('ClientIP');
  });

  it('scales consumers on the exporter depth metric, the same query and target on both variants', () => {
    expect(SHARED_METRICS).toContain(QUEUE_DEPTH_METRIC);
    // Every exporter replica publishes the depth: one replica's value, then the sum over queues.
    expect(SCALE_QUERY).toBe('sum(max without (instance, pod) (batchinfer_queue_depth{queue="chunks"}))');
    const annotations = at<Record<string, string>>(
      find(docs, 'serving.knative.dev/v1', 'Service', 'consumer'),
      'spec',
      'template',
      'metadata',
      'annotations',
    );
    expect(annotations).toMatchObject({
      'autoscaling.knative.dev/class': 'hpa.autoscaling.knative.dev',
      'autoscaling.knative.dev/min-scale': '0',
      'autoscaling.knative.dev/metric': QUEUE_DEPTH_METRIC,
      'autoscaling.knative.dev/metric-type': 'AverageValue',
      'autoscaling.knative.dev/prometheus-query': SCALE_QUERY,
    });
    // The extension reads prometheus-query; `query` (in one of its docs) would be ignored.
    expect(annotations['autoscaling.knative.dev/query']).toBeUndefined();
    // Newer versions run the query through Go's text/template: no `{{` may appear in it.
    expect(SCALE_QUERY).not.toContain('{{');
    expect(Number(annotations['autoscaling.knative.dev/max-scale'])).toBeGreaterThan(0);
    const address = new URL(annotations['autoscaling.knative.dev/prometheus-address'] ?? '');
    expect(address.host).not.toBe('');

    const scaled = find(docs, 'keda.sh/v1alpha1', 'ScaledObject', 'consumer');
    const trigger = at<{ type: string; metricType: string; metadata: Record<string, string> }>(scaled, 'spec', 'triggers', 0);
    expect(trigger).toMatchObject({ type: 'prometheus', metricType: 'AverageValue' });
    expect(trigger.metadata).toMatchObject({
      query: SCALE_QUERY,
      serverAddress: address.toString().replace(/\/$/, ''),
      threshold: annotations['autoscaling.knative.dev/target'],
    });
    expect(at(scaled, 'spec', 'minReplicaCount')).toBe(0);
    expect(at(scaled, 'spec', 'maxReplicaCount')).toBe(Number(annotations['autoscaling.knative.dev/max-scale']));
    const target = find(docs, 'apps/v1', 'Deployment', at(scaled, 'spec', 'scaleTargetRef', 'name'));
    expect(containersOf(target)[0]?.args).toEqual(['consumer']);
    expect(at(target, 'spec', 'replicas'), 'KEDA owns the replica count').toBeUndefined();

    // A target below a pod's concurrency would leave its slots idle while pods are added.
    for (const obj of [find(docs, 'serving.knative.dev/v1', 'Service', 'consumer'), target]) {
      const concurrency = Number(envValue(containersOf(obj)[0] as Container, 'CONSUMER_CONCURRENCY'));
      expect(Number(annotations['autoscaling.knative.dev/target'])).toBeGreaterThanOrEqual(concurrency);
    }
  });

  it('uses only container fields the Knative webhook accepts in Knative Services', () => {
    // knative/serving pkg/apis/serving/fieldmask.go, SecurityContextMask and CapabilitiesMask.
    const allowed = ['capabilities', 'readOnlyRootFilesystem', 'runAsUser', 'runAsGroup', 'runAsNonRoot'];
    for (const { file, obj } of docs.filter((d) => isKnativeService(d.obj))) {
      expect(at(podSpec(obj), 'securityContext'), `${file}: pod securityContext is feature-gated`).toBeUndefined();
      for (const c of containersOf(obj) as (Container & { securityContext?: Record<string, unknown> })[]) {
        expect(
          Object.keys(c.securityContext ?? {}).filter((k) => !allowed.includes(k)),
          file,
        ).toEqual([]);
        expect(
          Object.keys(at<Record<string, unknown>>(c.securityContext, 'capabilities') ?? {}).filter((k) => k !== 'drop'),
          file,
        ).toEqual([]);
        expect(
          (c.ports ?? []).every((p) => p.name === 'http1' || p.name === 'h2c'),
          file,
        ).toBe(true);
      }
    }
  });

  it('gives a draining service its DRAIN_TIMEOUT_SECONDS inside the grace period', () => {
    for (const { file, obj, container } of batchinferContainers()) {
      const command = container.args?.[0];
      if (command !== 'producer' && command !== 'consumer') continue;
      const drain = Number(envValue(container, 'DRAIN_TIMEOUT_SECONDS'));
      expect(drain, file).toBeGreaterThan(0);
      const spec = podSpec(obj);
      if (isKnativeService(obj)) {
        // Knative: terminationGracePeriodSeconds = timeoutSeconds, of which the queue-proxy takes 30 s first.
        const timeout = at<number>(spec, 'timeoutSeconds');
        expect(timeout, file).toBeLessThanOrEqual(600);
        expect(KNATIVE_PRESTOP_DRAIN_S + drain + DRAIN_EXTRA_S, file).toBeLessThanOrEqual(timeout);
      } else {
        expect(drain + DRAIN_EXTRA_S, file).toBeLessThanOrEqual(at<number>(spec, 'terminationGracePeriodSeconds'));
      }
    }
  });

  it('prices consumers by the limits they run under', () => {
    for (const { file, container } of batchinferContainers().filter((c) => c.container.args?.[0] === 'consumer')) {
      expect(envValue(container, 'CPU_LIMIT'), file).toBe(container.resources?.limits?.cpu);
      expect(envValue(container, 'MEMORY_LIMIT'), file).toBe(container.resources?.limits?.memory);
      expect(container.resources?.limits).toEqual({ cpu: '500m', memory: '512Mi' });
    }
  });

  it('writes outputs to object storage by default, as the ServiceAccount every producer and consumer runs as', () => {
    const config = at<Record<string, string>>(find(docs, 'v1', 'ConfigMap', 'batchinfer-config'), 'data');
    expect(config.OUTPUT_URL).toMatch(/^s3:\/\/[a-z0-9.-]+\/\S+$/);
    expect(loadConfig(config).datasetAllowedSchemes).toContain('s3');
    const account = find(docs, 'v1', 'ServiceAccount', 'batchinfer');
    // IRSA: EKS gives the pods this role's credentials through the SDK's web identity provider.
    expect(at(account, 'metadata', 'annotations', 'eks.amazonaws.com/role-arn')).toMatch(/^arn:aws:iam::\d{12}:role\/[\w+=,.@-]+$/);
    const workloads = batchinferContainers().filter((c) => ['producer', 'consumer'].includes(c.container.args?.[0] ?? ''));
    expect(workloads.length).toBe(4);
    for (const { file, obj, container } of workloads) {
      expect(at(podSpec(obj), 'serviceAccountName'), file).toBe('batchinfer');
      // No shared volume needed: the default set runs on clusters without ReadWriteMany storage.
      expect(container.volumeMounts ?? [], file).toEqual([]);
      expect(at(podSpec(obj), 'volumes'), file).toBeUndefined();
    }
  });

  it('sends the PingSource to the producer with data that is a valid batch request once its placeholders are filled', () => {
    for (const name of ['nightly-scoring', 'nightly-scoring-via-broker']) {
      const ping = find(docs, 'sources.knative.dev/v1', 'PingSource', name);
      const sinkRef = at<{ kind: string; name: string }>(ping, 'spec', 'sink', 'ref');
      if (name === 'nightly-scoring') expect(sinkRef).toMatchObject({ kind: 'Service', name: 'producer' });
      else {
        const trigger = find(docs, 'eventing.knative.dev/v1', 'Trigger', 'scheduled-runs');
        expect(at(trigger, 'spec', 'filter', 'attributes', 'source')).toBe(`/apis/v1/namespaces/${NAMESPACE}/pingsources/${name}`);
        expect(at(trigger, 'spec', 'subscriber', 'ref', 'name')).toBe('producer');
      }
      expect(at(ping, 'spec', 'contentType')).toBe('application/json');
      const config = loadConfig(at<Record<string, string>>(find(docs, 'v1', 'ConfigMap', 'batchinfer-config'), 'data'));
      const event = {
        specversion: '1.0',
        type: 'dev.knative.sources.ping',
        source: `/apis/v1/namespaces/${NAMESPACE}/pingsources/${name}`,
        id: 'tick-1',
        time: '2026-11-23T02:00:00.200Z',
        data: at<string>(ping, 'spec', 'data'),
      };
      const { request } = scheduledSubmission(event, { config });
      expect(request.datasetUrl).toBe('https://datasets.example.com/events/2026-11-22.jsonl');
      expect(request.schedule).toBe(name);
    }
    expect(at(find(docs, 'serving.knative.dev/v1', 'Service', 'producer'), 'metadata', 'labels', 'networking.knative.dev/visibility')).toBe(
      'cluster-local',
    );
  });

  it('binds completion events from both services to the Broker', () => {
    const subjects = docs.filter((d) => d.obj.kind === 'SinkBinding').map((d) => at<string>(d.obj, 'spec', 'subject', 'name'));
    expect(subjects.sort()).toEqual(['consumer', 'producer']);
    for (const d of docs.filter((x) => x.obj.kind === 'SinkBinding')) {
      const sink = at<{ kind: string; name: string }>(d.obj, 'spec', 'sink', 'ref');
      find(docs, 'eventing.knative.dev/v1', sink.kind, sink.name);
    }
    for (const d of docs.filter((x) => x.obj.kind === 'Trigger')) {
      find(docs, 'serving.knative.dev/v1', 'Service', at(d.obj, 'spec', 'subscriber', 'ref', 'name'));
    }
  });

  it('submits on a schedule with `batchinfer submit` to the producer Service, placeholders that expand, and a dated idempotency key', () => {
    const cron = find(docs, 'batch/v1', 'CronJob', 'nightly-scoring');
    const [container] = containersOf(cron);
    const args = container?.args ?? [];
    expect(args[0]).toBe('submit');
    const option = (flag: string): string | undefined => args[args.indexOf(flag) + 1];
    const now = new Date('2026-11-23T02:00:07Z');
    expect(expandTimePlaceholders(args[1] ?? '', now)).toBe('https://datasets.example.com/events/2026-11-22.jsonl');
    expect(expandTimePlaceholders(option('--idempotency-key') ?? '', now)).toBe('nightly-scoring-2026-11-23');
    expect(option('--schedule')).toBe('nightly-scoring');
    const server = new URL(option('--server') ?? '');
    const service = find(docs, 'v1', 'Service', 'producer', 'k8s/');
    expect(server.hostname).toBe(`${service.metadata.name}.${NAMESPACE}.svc.cluster.local`);
    expect(at(service, 'spec', 'ports', 0, 'port')).toBe(80);
    expect(at(cron, 'spec', 'concurrencyPolicy')).toBe('Forbid');
  });

  it('keeps Redis persistent and BullMQ-safe', () => {
    const redis = find(docs, 'apps/v1', 'StatefulSet', 'redis');
    const args = containersOf(redis)[0]?.args ?? [];
    expect(args.join(' ')).toContain('--appendonly yes');
    // Every acknowledged accounting write is on disk before the reply: a node crash loses none.
    expect(args.join(' ')).toContain('--appendfsync always');
    expect(args.join(' ')).toContain('--maxmemory-policy noeviction');
    expect(at(redis, 'spec', 'volumeClaimTemplates', 0, 'metadata', 'name')).toBe('data');
  });
});

describe('kustomizations', () => {
  const kustomizations = manifestFiles().filter((f) => path.basename(f) === 'kustomization.yaml');

  it('list only files that exist, and every manifest file but the examples (applied by hand) is listed by one', () => {
    const listed = new Set<string>();
    for (const k of kustomizations) {
      const [doc] = readYamlDocs(k) as { resources?: string[]; components?: string[] }[];
      for (const resource of [...(doc?.resources ?? []), ...(doc?.components ?? [])]) {
        const target = path.join(path.dirname(k), resource);
        expect(existsSync(path.join(ROOT, target)), `${k} lists ${resource}`).toBe(true);
        listed.add(resource.endsWith('.yaml') ? target : path.join(target, 'kustomization.yaml'));
      }
    }
    const unlisted = manifestFiles().filter(
      (f) =>
        !listed.has(f) &&
        !f.startsWith('k8s/examples/') &&
        ![...KUSTOMIZE_SETS, 'knative/broker-trigger'].map((dir) => `${dir}/kustomization.yaml`).includes(f),
    );
    expect(unlisted).toEqual([]);
  });

  it('the top-level k8s/ kustomization builds the plain-Kubernetes set and includes monitoring when it exists', () => {
    const [top] = readYamlDocs('k8s/kustomization.yaml') as { resources: string[] }[];
    expect(top?.resources).toContain('plain');
    if (existsSync(path.join(ROOT, 'k8s/monitoring/kustomization.yaml'))) expect(top?.resources).toContain('monitoring');
  });
});

describe('the image', () => {
  const dockerfile = readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');

  it('runs the CLI as PID 1 through an exec-form ENTRYPOINT, as a non-root user, on Node 22 LTS', () => {
    expect(dockerfile).toMatch(/^ENTRYPOINT \["node", "dist\/bundle\/cli\.js"\]$/m);
    expect(dockerfile).toMatch(/^ARG NODE_IMAGE=node:22-[\w-]*slim$/m);
    expect(dockerfile).toMatch(/npm ci --omit=dev/);
    const user = /^USER (\S+)$/m.exec(dockerfile)?.[1] ?? '';
    expect(user).toMatch(/^[1-9]\d*(:\d+)?$/); // numeric, so runAsNonRoot can check it
    expect(readFileSync(path.join(ROOT, 'package.json'), 'utf8')).toContain('"batchinfer": "dist/bundle/cli.js"');
  });

  it('copies only what exists and what .dockerignore lets through', () => {
    const ignore = readFileSync(path.join(ROOT, '.dockerignore'), 'utf8')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'));
    expect(ignore[0]).toBe('**');
    const allowed = ignore.filter((l) => l.startsWith('!')).map((l) => l.slice(1).replace(/\/\*\*$/, ''));
    for (const m of dockerfile.matchAll(/^COPY (?!--from)(.+) \S+$/gm)) {
      for (const src of (m[1] ?? '').split(/\s+/)) {
        expect(existsSync(path.join(ROOT, src)), src).toBe(true);
        expect(allowed, `${src} is excluded by .dockerignore`).toContain(src);
      }
    }
  });
});
