/**
 * A real Prometheus scraping the exporter every second, with the PrometheusRule's groups
 * loaded: the autoscaling query follows the queue as it fills and drains, cost and CPU per
 * team match the status API, every PromQL expression of the dashboard and the rules is
 * valid and reads only metrics the exporter publishes, and the budget and missed-schedule
 * alerts go off when they should. promtool checks the rules.
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
import {
  dashboardExpressions,
  metricNames,
  readRules,
  ruleExpressions,
  withGrafanaVariables,
  writeRuleFile,
} from '../helpers/monitoring-files.js';
import { startPrometheus } from '../helpers/prometheus.js';
import type { TestPrometheus } from '../helpers/prometheus.js';
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

  it('follows the queue, agrees with the status API on cost, and evaluates every dashboard and alert expression', async () => {
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
    const [producer, exporter] = await Promise.all([startService('producer', env), startService('exporter', env)]);
    services.push(producer, exporter);
    prometheus = await startPrometheus({ targets: [`127.0.0.1:${exporter.port}`], ruleFiles: [await writeRuleFile(dir)] });

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
    const cost = await waitUntil(
      async () => ((v) => (v === done.cost.usd ? v : undefined))(await scalar('sum(batchinfer_cost_usd_total{team="X"})')),
      {
        what: 'Prometheus to scrape the final cost',
      },
    );
    expect(cost).toBe(done.cost.usd);
    expect(await scalar('sum(batchinfer_cpu_seconds_total{team="X"})')).toBe(done.cost.cpuSeconds);
    expect(await scalar('sum(batchinfer_records_total{team="X", outcome="succeeded"})')).toBe(done.records.succeeded);

    // Every expression of the dashboard and the rules: valid PromQL, reading only families
    // the exporter publishes (a typo in a name would otherwise just give an empty panel).
    const families = new Set(parseMetricsText(await (await fetch(`${exporter.url}/metrics`)).text()).families.keys());
    const published = (name: string): boolean => families.has(name) || families.has(name.replace(/_(bucket|sum|count)$/, ''));
    const expressions = [...(await dashboardExpressions()), ...(await ruleExpressions())];
    expect(expressions.length).toBeGreaterThan(25);
    for (const { where, expr } of expressions) {
      const names = metricNames(expr);
      expect(names.length, `${where} reads no batchinfer_ metric`).toBeGreaterThan(0);
      for (const name of names) expect(published(name), `${where} reads ${name}, which the exporter does not publish`).toBe(true);
      await expect(prometheus.query(withGrafanaVariables(expr)), `${where}: ${expr}`).resolves.toBeDefined();
    }
    // A few of them give the numbers the test made.
    expect(await scalar('max(batchinfer_consumers)')).toBe(1);
    // Counters start at 0 when a batch is created, so increase() counts the first chunk too.
    expect(await scalar(withGrafanaVariables('sum by (team) (increase(batchinfer_cost_usd_total{team="X"}[$__range]))'))).toBeGreaterThan(
      0,
    );

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
  });
});
