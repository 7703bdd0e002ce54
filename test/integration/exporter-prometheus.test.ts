/**
 * A real Prometheus scraping two exporter replicas every second (as the Deployment runs them),
 * with the PrometheusRule's groups loaded: the autoscaling query follows the queue as it fills
 * and drains and counts each chunk once, cost and CPU per team match the status API, every
 * PromQL expression of the dashboard and the rules is valid, reads only metrics the exporter
 * publishes and gives the same answer from two replicas as from one, and the budget and
 * missed-schedule alerts go off when they should. promtool checks the rules.
 */
import { mkdtemp, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BatchStore } from '../../src/shared/batch/batch-store.js';
import { createChunkQueue } from '../../src/shared/events/chunk-queue.js';
import { SCALE_QUERY } from '../../src/shared/scaling.js';
import type { BatchView } from '../../src/shared/types.js';
import { ROOT, startService } from '../helpers/cli.js';
import type { RunningService } from '../helpers/cli.js';
import { writeJsonlDataset } from '../helpers/datasets.js';
import { parseMetricsText } from '../helpers/metrics-text.js';
import type { Expression } from '../helpers/monitoring-files.js';
import {
  dashboardExpressions,
  metricNames,
  readRules,
  ruleExpressions,
  withGrafanaVariables,
  writeRuleFile,
} from '../helpers/monitoring-files.js';
import { startPrometheus } from '../helpers/prometheus.js';
import type { PromSample, TestPrometheus } from '../helpers/prometheus.js';
import { checkRules } from '../helpers/promtool.js';
import { connect, freshPrefix, startTestRedis } from '../helpers/redis.js';
import type { LocalRedis } from '../helpers/redis.js';
import { waitUntil } from '../helpers/wait-until.js';

/** The query KEDA (and the Knative autoscaler-keda extension) scales consumers on. */
const AUTOSCALING_QUERY = SCALE_QUERY;

let dir: string;
let server: LocalRedis;
let redis: Redis;
let prometheus: TestPrometheus | undefined;
const services: RunningService[] = [];

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'bi-prom-test-'));
  server = await startTestRedis();
  redis = connect(server.url);
});
afterAll(async () => {
  await prometheus?.stop();
  await Promise.all(services.map((s) => s.stop()));
  await redis?.quit();
  await server?.stop();
});

/** The expression on one exporter replica only: every batchinfer_ selector gets `instance="<target>"`. */
function onInstance(expr: string, instance: string): string {
  return expr.replace(/\b(batchinfer_[a-z_]+)\b(\{)?/g, (_, name: string, brace: string | undefined) =>
    brace ? `${name}{instance="${instance}", ` : `${name}{instance="${instance}"}`,
  );
}

/**
 * Every expression gives the same series from both replicas as from `instance` alone, at one
 * evaluation time. Replicas are scraped up to a second apart, so ages and rates may differ a
 * little; a series counted once per replica is off by 100 %.
 */
async function expectReplicaSafe(expressions: Expression[], instance: string): Promise<void> {
  const prom = prometheus as TestPrometheus;
  const time = Date.now() / 1000;
  // Windows that hold the whole test, so counters' growth shows (a 5 s rate would be 0 by then).
  const evaluable = (expr: string): string => withGrafanaVariables(expr.replaceAll('$__rate_interval', '5m').replaceAll('$__range', '5m'));
  const byLabels = (samples: PromSample[]): Map<string, number> =>
    new Map(samples.map((s) => [JSON.stringify(Object.entries(s.metric).sort(([a], [b]) => a.localeCompare(b))), s.value]));
  for (const { where, expr } of expressions) {
    const [both, one] = await Promise.all([prom.query(evaluable(expr), time), prom.query(onInstance(evaluable(expr), instance), time)]);
    const [all, single] = [byLabels(both), byLabels(one)];
    expect([...all.keys()].sort(), `${where}: series from two replicas vs one`).toEqual([...single.keys()].sort());
    for (const [labels, value] of all) {
      const alone = single.get(labels) as number;
      if (Number.isNaN(value) && Number.isNaN(alone)) continue;
      expect(Math.abs(value - alone), `${where} ${labels}: ${value} from two replicas, ${alone} from one`).toBeLessThanOrEqual(
        0.4 * Math.max(Math.abs(value), Math.abs(alone)) + 1e-12,
      );
    }
  }
}

/**
 * Waits until Prometheus has scraped every replica three more times, so what is compared has
 * settled in both (a series one replica's scrape caught a moment before the other's would be
 * missing from one side, or a step behind).
 */
async function threeMoreScrapes(): Promise<void> {
  const scrapes = async (): Promise<number> => (await scalar('min(count_over_time(up{job="batchinfer-exporter"}[10m]))')) ?? 0;
  const before = await scrapes();
  await waitUntil(async () => (await scrapes()) >= before + 3, { what: 'three more scrapes of each replica', timeoutMs: 30_000 });
}

/** The single value of an instant query, or undefined when it has no result. */
async function scalar(expr: string): Promise<number | undefined> {
  const result = await (prometheus as TestPrometheus).query(expr);
  return result.length === 1 ? result[0]?.value : undefined;
}

describe('the exporter scraped by a real Prometheus', () => {
  it('promtool finds no problem in the alert rules, and each rule has a runbook', async () => {
    const result = await checkRules(await writeRuleFile(dir));
    expect(result.output).toContain('SUCCESS');
    expect(result.code).toBe(0);
    const rules = (await readRules()).spec.groups.flatMap((g) => g.rules);
    const alerts = rules.map((r) => r.alert);
    for (const name of [
      'BatchinferBacklogGrowing',
      'BatchinferOldestWaitOverSLO',
      'BatchinferChunkFailureRateHigh',
      'BatchinferBatchesStuck',
    ]) {
      expect(alerts).toContain(name);
    }
    for (const name of [
      'BatchinferScheduledRunMissed',
      'BatchinferBudgetOver80Percent',
      'BatchinferBudgetExceeded',
      'BatchinferCostPerRecordSpike',
    ]) {
      expect(alerts).toContain(name);
    }
    // Every runbook link lands on a section of docs/runbooks.md.
    const runbooks = await readFile(path.join(ROOT, 'docs/runbooks.md'), 'utf8');
    const anchors = new Set(
      [...runbooks.matchAll(/^## (.+)$/gm)].map((m) =>
        (m[1] ?? '')
          .trim()
          .toLowerCase()
          .replace(/[^a-z0-9 -]/g, '')
          .replace(/ /g, '-'),
      ),
    );
    for (const rule of rules) {
      const [file, anchor] = (rule.annotations?.runbook_url ?? '').split('#');
      expect(file, rule.alert).toBe('docs/runbooks.md');
      expect(anchors.has(anchor ?? ''), `${rule.alert}: no section #${anchor} in docs/runbooks.md`).toBe(true);
      expect(rule.annotations?.description, rule.alert).toBeTruthy();
    }
  });

  it('follows the queue, agrees with the status API on cost, and evaluates every dashboard and alert expression, with two exporters', async () => {
    const prefix = freshPrefix('prom');
    const output = path.join(dir, 'out');
    const env = {
      REDIS_URL: server.url,
      QUEUE_PREFIX: prefix,
      OUTPUT_URL: pathToFileURL(output).toString(),
      DATASET_ALLOWED_SCHEMES: 'file',
      CHUNK_SIZE: '50',
      EXPORTER_SAMPLE_SECONDS: '1',
      // A budget the first chunk exceeds, and a schedule that is overdue after a second.
      TEAM_BUDGETS_USD: JSON.stringify({ X: 1e-12 }),
      SCHEDULE_MAX_INTERVAL_SECONDS: JSON.stringify({ nightly: 1 }),
    };
    // Two exporter replicas on the same Redis, both scraped, as k8s/base/exporter.yaml runs them.
    const [producer, exporter, replica] = await Promise.all([
      startService('producer', env),
      startService('exporter', env),
      startService('exporter', env),
    ]);
    services.push(producer, exporter, replica);
    const instance = `127.0.0.1:${exporter.port}`;
    prometheus = await startPrometheus({ targets: [instance, `127.0.0.1:${replica.port}`], ruleFiles: [await writeRuleFile(dir)] });
    const expressions = [...(await dashboardExpressions()), ...(await ruleExpressions())];

    // Chunks waiting and no consumer: Prometheus sees exactly what BullMQ holds.
    const data = await writeJsonlDataset(path.join(dir, 'd.jsonl'), 500);
    const res = await fetch(`${producer.url}/v1/batches`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ datasetUrl: pathToFileURL(data.path).toString(), labels: { team: 'X', project: 'p1' } }),
    });
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as { id: string };
    const view = async (): Promise<BatchView> => (await (await fetch(`${producer.url}/v1/batches/${id}`)).json()) as BatchView;
    await waitUntil(async () => (await view()).status === 'running', { what: 'ingest to finish' });
    const queue = createChunkQueue(redis, { prefix, attempts: 3 });
    const counts = await queue.getJobCounts('waiting', 'prioritized', 'active');
    const waiting = (counts.waiting ?? 0) + (counts.prioritized ?? 0) + (counts.active ?? 0);
    expect(waiting).toBe(10);
    await waitUntil(async () => (await scalar(AUTOSCALING_QUERY)) === waiting, {
      what: `Prometheus to see ${waiting} chunks`,
      timeoutMs: 60_000,
    });
    // Both replicas publish the depth (a plain sum counts it twice); the KEDA query counts it once.
    await waitUntil(async () => (await scalar('sum(batchinfer_queue_depth{queue="chunks"})')) === 2 * waiting, {
      what: 'Prometheus to scrape both replicas',
      timeoutMs: 30_000,
    });
    expect(await scalar(AUTOSCALING_QUERY)).toBe(waiting);
    // Ages well past the second that separates the two replicas' scrapes, then every dashboard
    // and alert expression, with chunks waiting: as from one replica.
    await waitUntil(async () => ((await scalar('max(batchinfer_queue_oldest_waiting_age_seconds)')) ?? 0) > 8, {
      what: 'the oldest chunk to wait 8 s',
      timeoutMs: 30_000,
    });
    await threeMoreScrapes();
    await expectReplicaSafe(expressions, instance);

    // A scheduled batch that started once and not again.
    const store = new BatchStore(redis, prefix, 3600);
    await store.create('scheduled', {
      datasetUrl: 'file:///x.jsonl',
      format: 'jsonl',
      model: 'sum',
      chunkSize: 10,
      outputUrl: pathToFileURL(output).toString(),
      labels: {},
      schedule: 'nightly',
    });
    await store.halt('scheduled', 'cancelled', 'test: not run');

    // Consumers drain the queue: the autoscaling query comes back to 0.
    services.push(await startService('consumer', env));
    const done = await waitUntil(async () => ((v) => (v.status === 'completed' ? v : undefined))(await view()), {
      what: 'batch to complete',
    });
    await waitUntil(async () => (await scalar(AUTOSCALING_QUERY)) === 0, { what: 'Prometheus to see an empty queue', timeoutMs: 60_000 });
    await queue.close();

    // Cost and CPU per team: > 0 and the status API's figures.
    expect(done.cost.usd).toBeGreaterThan(0);
    expect(done.cost.cpuSeconds).toBeGreaterThan(0);
    const once = (selector: string): string => `sum(max without (instance, pod) (${selector}))`;
    const cost = await waitUntil(
      async () => ((v) => (v === done.cost.usd ? v : undefined))(await scalar(once('batchinfer_cost_usd_total{team="X"}'))),
      { what: 'Prometheus to scrape the final cost' },
    );
    expect(cost).toBe(done.cost.usd);
    expect(await scalar(once('batchinfer_cpu_seconds_total{team="X"}'))).toBe(done.cost.cpuSeconds);
    expect(await scalar(once('batchinfer_records_total{team="X", outcome="succeeded"}'))).toBe(done.records.succeeded);
    await waitUntil(async () => (await scalar('sum(batchinfer_cost_usd_total{team="X"})')) === 2 * done.cost.usd, {
      what: 'both replicas to publish the final cost',
    });

    // Every expression of the dashboard and the rules: valid PromQL, reading only families
    // the exporter publishes (a typo in a name would otherwise just give an empty panel).
    const families = new Set(parseMetricsText(await (await fetch(`${exporter.url}/metrics`)).text()).families.keys());
    const published = (name: string): boolean => families.has(name) || families.has(name.replace(/_(bucket|sum|count)$/, ''));
    expect(expressions.length).toBeGreaterThan(25);
    for (const { where, expr } of expressions) {
      const names = metricNames(expr);
      expect(names.length, `${where} reads no batchinfer_ metric`).toBeGreaterThan(0);
      for (const name of names) expect(published(name), `${where} reads ${name}, which the exporter does not publish`).toBe(true);
      await expect(prometheus.query(withGrafanaVariables(expr)), `${where}: ${expr}`).resolves.toBeDefined();
    }
    // A few of them give the numbers the test made.
    expect(await scalar('max(batchinfer_consumers)')).toBe(1);
    // Counters start at 0 when a batch is created, so increase() counts the first chunk too
    // (the subquery's steps are whole seconds: its newest step may lag the newest sample by one).
    const rangeCost = withGrafanaVariables(
      'sum by (team) (increase((max without (instance, pod) (batchinfer_cost_usd_total{team="X"}))[$__range:$__interval]))',
    );
    await waitUntil(async () => ((await scalar(rangeCost)) ?? 0) > 0, { what: 'the range increase of the cost', timeoutMs: 10_000 });

    // The alerts: over budget (both thresholds, no `for`) and the missed nightly run (pending for 5 min).
    await waitUntil(
      async () => {
        const all = await (prometheus as TestPrometheus).alerts();
        const has = (name: string, label: [string, string], states: string[]): boolean =>
          all.some((a) => a.labels.alertname === name && a.labels[label[0]] === label[1] && states.includes(a.state));
        return (
          has('BatchinferBudgetExceeded', ['team', 'X'], ['firing']) &&
          has('BatchinferBudgetOver80Percent', ['team', 'X'], ['firing']) &&
          has('BatchinferScheduledRunMissed', ['schedule', 'nightly'], ['pending', 'firing'])
        );
      },
      { what: 'the budget and schedule alerts', timeoutMs: 60_000 },
    );
    // Nothing else is wrong now that the queue is drained: the backlog, no-consumer and stuck
    // alerts that were pending while chunks waited for a consumer resolve at the next evaluations.
    const others = async (): Promise<string[]> =>
      (await (prometheus as TestPrometheus).alerts())
        .map((a) => a.labels.alertname ?? '')
        .filter((n) => !/Budget|ScheduledRunMissed/.test(n));
    await waitUntil(async () => (await others()).length === 0, { what: 'no other alert', timeoutMs: 30_000 }).catch(() => undefined);
    expect(await others()).toEqual([]);

    // The queue drained, counters grown, nothing moving for a while (a change caught by one
    // replica's scrape and not yet by the other's is not what this compares): every
    // expression gives from two replicas what it gives from one.
    await threeMoreScrapes();
    await expectReplicaSafe(expressions, instance);

    // One replica gone (a node drained): the other one answers, the figures stay the same.
    await replica.stop();
    // batchinfer_consumers has one series per replica: one left once the stopped one is stale.
    await waitUntil(async () => (await scalar('count(batchinfer_consumers)')) === 1, {
      what: 'Prometheus to mark the stopped replica stale',
      timeoutMs: 30_000,
    });
    expect(await scalar(AUTOSCALING_QUERY)).toBe(0);
    expect(await scalar(once('batchinfer_cost_usd_total{team="X"}'))).toBe(done.cost.usd);
  });
});
