/**
 * `batchinfer exporter` against a real Redis, with real producer and consumer processes:
 * chunks waiting (no consumer yet), one chunk held active, chunks that fail for good, and a
 * batch that completes. `/metrics` must count each of them, agree with the status API on
 * cost, and pass `promtool check metrics` at every step.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { WaitingError, Worker } from 'bullmq';
import { describe, expect } from 'vitest';
import type { Manifest } from '../../src/shared/batch/batch-closer.js';
import { BatchStore } from '../../src/shared/batch/batch-store.js';
import { LabelValues } from '../../src/shared/batch/label-values.js';
import { CHUNK_QUEUE } from '../../src/shared/batch/keys.js';
import { batchRequest } from '../helpers/batch-requests.js';
import { submitBatch, waitForBatch } from '../helpers/batches.js';
import { chunkResult } from '../helpers/chunk-result.js';
import type { RunningService } from '../helpers/cli.js';
import { writeJsonlDataset } from '../helpers/datasets.js';
import { it } from '../helpers/fixtures.js';
import { parseMetricsText, sampleSum, sampleValue } from '../helpers/metrics-text.js';
import { checkMetrics } from '../helpers/promtool.js';
import { connect, freshPrefix, startTestRedis } from '../helpers/redis.js';
import { waitUntil } from '../helpers/wait-until.js';

async function scrape(exporter: RunningService): Promise<string> {
  const res = await fetch(`${exporter.url}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toContain('text/plain; version=0.0.4');
  return res.text();
}

/** A scrape once `ready` holds for it (the exporter reuses a read for up to a second). */
async function scrapeWhen(exporter: RunningService, ready: (text: string) => boolean, what: string): Promise<string> {
  return waitUntil(async () => ((t) => (ready(t) ? t : undefined))(await scrape(exporter)), { what });
}

async function expectPromtoolClean(text: string): Promise<void> {
  const result = await checkMetrics(text);
  expect(result.output).toBe('');
  expect(result.code).toBe(0);
}

describe('batchinfer exporter', () => {
  it('publishes waiting, active and failed chunks, records, cost and batches from Redis', async ({
    workDir: dir,
    redis: server,
    redisClient: redis,
    serviceEnv,
    services,
  }) => {
    const output = path.join(dir, 'out');
    const budget = 0.000001;
    const env = serviceEnv({
      MODEL_ROOT: dir,
      CHUNK_SIZE: '100',
      TEAM_BUDGETS_USD: JSON.stringify({ risk: budget }),
      SCHEDULE_MAX_INTERVAL_SECONDS: '{"nightly-risk": 3600, "*": 90000}',
    });
    const prefix = env.QUEUE_PREFIX;
    const [producer, exporter] = await Promise.all([services.start('producer', env), services.start('exporter', env)]);

    const good = await writeJsonlDataset(path.join(dir, 'good.jsonl'), 600, { bad: (line) => line % 97 === 0 });
    const bad = await writeJsonlDataset(path.join(dir, 'bad.jsonl'), 250);
    const submit = (body: Record<string, unknown>): Promise<string> => submitBatch(producer.url, body);
    const goodId = await submit({ datasetUrl: pathToFileURL(good.path).toString(), labels: { team: 'risk', project: 'churn' } });
    // The model file does not exist: every chunk of this batch fails for good at the consumer.
    const badId = await submit({ datasetUrl: pathToFileURL(bad.path).toString(), model: 'linear:missing.json', labels: { team: 'fraud' } });
    for (const id of [goodId, badId])
      await waitForBatch(
        () => producer.url,
        id,
        (v) => v.status === 'running',
        `${id} ingested`,
      );

    // Waiting, with no consumer: the depth KEDA scales on counts every chunk.
    let text = await scrapeWhen(exporter, (t) => sampleValue(t, 'batchinfer_batches', { status: 'running' }) === 2, 'both batches running');
    expect(sampleValue(text, 'batchinfer_queue_depth', { queue: 'chunks' })).toBe(9);
    expect(sampleValue(text, 'batchinfer_queue_jobs', { state: 'waiting' })).toBe(9);
    expect(sampleValue(text, 'batchinfer_queue_jobs', { state: 'active' })).toBe(0);
    expect(sampleValue(text, 'batchinfer_batches', { status: 'running' })).toBe(2);
    expect(sampleValue(text, 'batchinfer_batches_created_total')).toBe(2);
    expect(sampleValue(text, 'batchinfer_consumers')).toBe(0);
    const age = sampleValue(text, 'batchinfer_queue_oldest_waiting_age_seconds', { queue: 'chunks' }) ?? -1;
    expect(age).toBeGreaterThan(0);
    expect(age).toBeLessThan(300);
    expect(sampleValue(text, 'batchinfer_batch_oldest_active_age_seconds')).toBeGreaterThan(0);
    await expectPromtoolClean(text);

    // One chunk held by a worker: active, and still part of the depth.
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let held = false;
    const holderRedis = connect(server.url);
    const holder = new Worker(
      CHUNK_QUEUE,
      async (job, token) => {
        held = true;
        await released;
        // Handed back untouched, as a draining consumer does.
        await job.moveToWait(token);
        throw new WaitingError();
      },
      { connection: holderRedis, prefix, concurrency: 1 },
    );
    await waitUntil(() => held, { what: 'a chunk to be taken' });
    text = await scrapeWhen(exporter, (t) => sampleValue(t, 'batchinfer_queue_jobs', { state: 'active' }) === 1, 'one active chunk');
    expect(sampleValue(text, 'batchinfer_queue_jobs', { state: 'waiting' })).toBe(8);
    expect(sampleValue(text, 'batchinfer_queue_depth', { queue: 'chunks' })).toBe(9);
    await expectPromtoolClean(text);
    const closing = holder.close();
    release();
    await closing;
    await holderRedis.quit();

    // A batch started by a schedule: its start time is published per schedule.
    const store = new BatchStore(redis, prefix, 3600);
    const before = Date.now();
    await store.create('scheduled-1', batchRequest({ outputUrl: pathToFileURL(output).toString(), schedule: 'nightly-risk' }));
    await store.halt('scheduled-1', 'cancelled', 'test: not run');

    // A consumer drains the queue.
    await services.start('consumer', env);
    const goodDone = await waitForBatch(
      () => producer.url,
      goodId,
      (v) => v.status === 'completed',
      'good batch completed',
    );
    const badDone = await waitForBatch(
      () => producer.url,
      badId,
      (v) => v.status === 'failed',
      'bad batch failed',
    );
    text = await scrapeWhen(
      exporter,
      (t) =>
        sampleValue(t, 'batchinfer_batches', { status: 'completed' }) === 1 &&
        sampleValue(t, 'batchinfer_batches', { status: 'failed' }) === 1 &&
        sampleValue(t, 'batchinfer_consumers') === 1,
      'both batches finished, one live consumer',
    );
    expect(sampleValue(text, 'batchinfer_queue_depth', { queue: 'chunks' })).toBe(0);
    await expectPromtoolClean(text);

    // Records by outcome and cost labels; failures by reason; batches by status.
    expect(sampleValue(text, 'batchinfer_records_total', { outcome: 'succeeded', team: 'risk', project: 'churn', model: 'sum' })).toBe(
      good.expected.size,
    );
    expect(sampleValue(text, 'batchinfer_records_total', { outcome: 'failed', team: 'risk' })).toBe(good.badLines.length);
    expect(sampleValue(text, 'batchinfer_records_total', { outcome: 'failed', team: 'fraud', model: 'linear:missing.json' })).toBe(
      bad.records,
    );
    expect(sampleValue(text, 'batchinfer_chunk_failures_total', { reason: 'model_not_found' })).toBe(3);
    expect(sampleValue(text, 'batchinfer_queue_jobs', { state: 'failed' })).toBe(3);
    expect(sampleValue(text, 'batchinfer_batches', { status: 'running' })).toBe(0);
    expect(sampleValue(text, 'batchinfer_batches', { status: 'completed' })).toBe(1);
    expect(sampleValue(text, 'batchinfer_batches', { status: 'failed' })).toBe(1);
    expect(sampleValue(text, 'batchinfer_batches', { status: 'cancelled' })).toBe(1);
    expect(sampleValue(text, 'batchinfer_batches_finished_total', { status: 'completed' })).toBe(1);
    expect(sampleValue(text, 'batchinfer_batch_oldest_active_age_seconds')).toBe(0);
    // BullMQ's own totals (the consumers keep its per-minute metrics), republished as is.
    expect(sampleValue(text, 'bullmq_job_completed_total', { queue: 'chunks' })).toBe(6);
    expect(sampleValue(text, 'bullmq_job_failed_total', { queue: 'chunks' })).toBe(3);

    // Per attempt: 9 chunks ran once at the consumer; the held chunk's consumer attempt came
    // after a hand-back that left no ready mark, so its wait is unknown and not observed.
    expect(sampleValue(text, 'batchinfer_chunk_processing_seconds_count')).toBe(9);
    expect(sampleValue(text, 'batchinfer_chunk_wait_seconds_count')).toBe(8);
    expect(sampleValue(text, 'batchinfer_chunk_wait_seconds_bucket', { le: '+Inf' })).toBe(8);

    // Cost and CPU by label match the status API to the last digit, and so does the manifest.
    const riskLabels = { team: 'risk', project: 'churn', model: 'sum' };
    expect(goodDone.cost.usd).toBeGreaterThan(0);
    expect(goodDone.cost.cpuSeconds).toBeGreaterThan(0);
    expect(sampleValue(text, 'batchinfer_cost_usd_total', riskLabels)).toBeCloseTo(goodDone.cost.usd, 15);
    expect(sampleValue(text, 'batchinfer_cpu_seconds_total', riskLabels)).toBeCloseTo(goodDone.cost.cpuSeconds, 15);
    expect(sampleValue(text, 'batchinfer_allocated_cpu_seconds_total', riskLabels)).toBeCloseTo(goodDone.cost.allocatedCpuSeconds, 15);
    expect(goodDone.cost.efficiency).toBeCloseTo(goodDone.cost.cpuSeconds / goodDone.cost.allocatedCpuSeconds, 12);
    // Failed attempts cost something too.
    expect(badDone.cost.usd).toBeGreaterThan(0);
    expect(sampleSum(text, 'batchinfer_cost_usd_total', { team: 'fraud' })).toBeCloseTo(badDone.cost.usd, 15);
    const manifest = JSON.parse(await readFile(path.join(output, goodId, 'manifest.json'), 'utf8')) as Manifest;
    expect(manifest.cost).toEqual(goodDone.cost);

    // Budget use: this month's cost over the team's budget.
    expect(sampleValue(text, 'batchinfer_budget_usd', { team: 'risk' })).toBe(budget);
    expect(sampleValue(text, 'batchinfer_budget_spent_usd', { team: 'risk' })).toBeCloseTo(goodDone.cost.usd, 15);
    expect(sampleValue(text, 'batchinfer_budget_used_ratio', { team: 'risk' })).toBeCloseTo(goodDone.cost.usd / budget, 9);
    expect(sampleValue(text, 'batchinfer_budget_used_ratio', { team: 'fraud' })).toBeUndefined();

    // The last start per schedule, and its allowed gap.
    const started = sampleValue(text, 'batchinfer_schedule_last_start_timestamp_seconds', { schedule: 'nightly-risk' }) ?? 0;
    expect(started * 1000).toBeGreaterThanOrEqual(before);
    expect(started * 1000).toBeLessThanOrEqual(Date.now());
    expect(sampleValue(text, 'batchinfer_schedule_max_interval_seconds', { schedule: 'nightly-risk' })).toBe(3600);

    // The page's API says the same.
    const overview = (await (await fetch(`${exporter.url}/api/v1/overview`)).json()) as {
      queue: { depth: number };
      batches: { active: unknown[] };
      cost: { teams: { team: string; usd: number; cpuSeconds: number; budgetUsedRatio: number | null }[] };
    };
    expect(overview.queue.depth).toBe(0);
    expect(overview.batches.active).toEqual([]);
    const risk = overview.cost.teams.find((t) => t.team === 'risk');
    expect(risk?.usd).toBeCloseTo(goodDone.cost.usd, 15);
    expect(risk?.cpuSeconds).toBeCloseTo(goodDone.cost.cpuSeconds, 15);

    // Health and unknown routes.
    expect((await fetch(`${exporter.url}/readyz`)).status).toBe(200);
    expect((await fetch(`${exporter.url}/nope`)).status).toBe(404);
    expect((await fetch(`${exporter.url}/metrics`, { method: 'POST' })).status).toBe(405);
    const head = await fetch(`${exporter.url}/metrics`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
  });

  it('publishes label values users chose as they wrote them: quotes, backslashes, newlines, unicode', async ({
    redis: server,
    redisClient: redis,
    services,
  }) => {
    const prefix = freshPrefix('labels');
    const exporter = await services.start('exporter', { REDIS_URL: server.url, QUEUE_PREFIX: prefix });
    const store = new BatchStore(redis, prefix, 3600);
    const labelSets = [
      { team: 'a"b', project: 'back\\slash/and/slashes' },
      { team: 'new\nline', project: 'équipe 😀 数据' },
      { team: '\\n is two characters', project: '{}=,"' },
      // Sets that a label store keyed by `name:value,` would take for one.
      { team: '', project: 'p,team:t' },
      { team: 't,team:', project: 'p' },
    ];
    // The producer refuses such team and project values now; they are registered here directly
    // (as the producer registers what it admits), so the exporter's escaping is still tested.
    const registry = new LabelValues(redis, prefix, 100);
    for (const [i, labels] of labelSets.entries()) {
      const id = `hostile-${i}`;
      await registry.admit({ team: labels.team, project: labels.project, model: 'sum' });
      await store.create(id, batchRequest({ labels, schedule: `${labels.team}|${labels.project}` }));
      await store.markIngested(id, 1, 10);
      await store.recordChunk(id, 0, chunkResult(i + 1, 0, { costUsd: i + 1 }));
    }
    const text = await scrapeWhen(
      exporter,
      (t) => parseMetricsText(t).samples.filter((x) => x.name === 'batchinfer_cost_usd_total').length === labelSets.length,
      'every label set published',
    );
    for (const [i, labels] of labelSets.entries()) {
      const where = JSON.stringify(labels);
      expect(sampleValue(text, 'batchinfer_cost_usd_total', { ...labels, model: 'sum' }), where).toBe(i + 1);
      expect(sampleValue(text, 'batchinfer_records_total', { ...labels, model: 'sum', outcome: 'succeeded' }), where).toBe(i + 1);
      expect(
        sampleValue(text, 'batchinfer_schedule_last_start_timestamp_seconds', { schedule: `${labels.team}|${labels.project}` }),
        where,
      ).toBeGreaterThan(0);
    }
    await expectPromtoolClean(text);
  });

  it('answers 503 on /metrics while Redis is down, never stale numbers', async ({ services }) => {
    const own = await startTestRedis();
    const exporter = await services.start('exporter', { REDIS_URL: own.url, QUEUE_PREFIX: freshPrefix('down') });
    // /healthz answers before the Redis connection is up; a scrape before that is a 503 too.
    await waitUntil(async () => (await fetch(`${exporter.url}/readyz`)).status === 200, { what: 'the exporter connected to Redis' });
    expect((await fetch(`${exporter.url}/metrics`)).status).toBe(200);
    await own.stop();
    // No stale numbers: a scrape fails (Prometheus records up=0), it never reports depth 0.
    await waitUntil(async () => (await fetch(`${exporter.url}/metrics`)).status === 503, { what: '503 without Redis' });
    expect((await fetch(`${exporter.url}/readyz`)).status).toBe(503);
  });
});
