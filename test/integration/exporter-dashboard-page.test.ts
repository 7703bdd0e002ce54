/**
 * The exporter's built-in page in headless Chromium: while chunks arrive in steps it shows
 * the live queue depth, the batch in progress, and the cost by team that the accounting
 * holds, with times in ISO 8601 and the zone, under a CSP that allows no inline script or
 * style. A screenshot goes to test-artifacts/ (git-ignored) for a person to look at. The
 * page's files ship beside the compiled module and beside the bundle.
 */
import { mkdir, readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect } from 'vitest';
import { BatchStore } from '../../src/shared/batch/batch-store.js';
import { LabelValues } from '../../src/shared/batch/label-values.js';
import { buildChunkEvent } from '../../src/shared/events/chunk-event.js';
import { chunkJobId, createChunkQueue } from '../../src/shared/events/chunk-queue.js';
import { observe, PROCESSING_BUCKETS, WAIT_BUCKETS } from '../../src/shared/observability/histogram-buckets.js';
import { DashboardPage, PAGE_PATHS } from '../../src/exporter/dashboard-page.js';
import { launchBrowser } from '../helpers/browser.js';
import type { TestBrowser } from '../helpers/browser.js';
import { batchRequest, chunkData } from '../helpers/batch-requests.js';
import { ROOT } from '../helpers/cli.js';
import { it } from '../helpers/fixtures.js';

const ARTIFACTS = path.join(ROOT, 'test-artifacts');

let browser: TestBrowser | undefined;

it.afterAll(async () => {
  await browser?.close();
});

const request = (labels: Record<string, string>) => batchRequest({ chunkSize: 1, outputUrl: 'file:///tmp/bi-page-out', labels });

describe('the exporter page', () => {
  it('shows the live depth of a filling queue, the batch in progress and cost by team', async ({
    redisClient: redis,
    serviceEnv,
    services,
  }) => {
    const env = serviceEnv({ EXPORTER_SAMPLE_SECONDS: '1', TEAM_BUDGETS_USD: JSON.stringify({ risk: 1 }) });
    const prefix = env.QUEUE_PREFIX;
    const exporter = await services.start('exporter', env);
    const store = new BatchStore(redis, prefix, 3600);
    const queue = createChunkQueue(redis, { prefix, attempts: 3 });

    // Label values are registered as the producer registers what it admits at submit.
    const labelValues = new LabelValues(redis, prefix, 100);
    for (const team of ['risk', 'fraud']) await labelValues.admit({ team, project: '', model: 'sum' });
    // A finished batch whose accounted cost the page must show for its team.
    await store.create('paid', request({ team: 'risk' }));
    await store.markIngested('paid', 1, 10);
    await store.recordChunk('paid', 0, {
      succeeded: 10,
      failed: 0,
      predictionSum: 10,
      predictionCount: 10,
      latencyMs: 1,
      chunkFailed: false,
      costUsd: 0.25,
      cpuSeconds: 1.5,
      allocatedCpuSeconds: 3,
      wallSeconds: 12,
      wait: observe(0.4, WAIT_BUCKETS),
      attemptId: 'paid-0-1',
      processing: observe(12, PROCESSING_BUCKETS),
    });
    expect(await store.finish('paid', 'completed')).toBe(true);
    // A batch still ingesting, whose chunks arrive in steps.
    await store.create('filling', request({ team: 'fraud' }));

    // A zone with a half-hour offset, so the page must write it rather than assume UTC.
    browser = await launchBrowser({ timezoneId: 'Asia/Kolkata' });
    const { page } = browser;
    const errors: string[] = [];
    page.on('pageerror', (err) => errors.push(err.message));
    page.on('console', (msg) => {
      if (msg.type() === 'error') errors.push(msg.text());
    });
    await page.goto(`${exporter.url}/?refresh=0.5`);

    let added = 0;
    for (const target of [4, 9, 15]) {
      const jobs = [];
      for (; added < target; added++) {
        const data = chunkData({
          batchId: 'filling',
          chunkIndex: added,
          records: [`{"id":${added},"features":[1]}`],
          outputUrl: 'file:///tmp/bi-page-out',
        });
        jobs.push({ name: 'chunk' as const, data: buildChunkEvent(data), opts: { jobId: chunkJobId('filling', added) } });
      }
      await queue.addBulk(jobs);
      const counts = await queue.getJobCounts('waiting', 'prioritized', 'active');
      const depth = (counts.waiting ?? 0) + (counts.prioritized ?? 0) + (counts.active ?? 0);
      expect(depth).toBe(target);
      await store.setIngestProgress('filling', added, added);
      // The tile follows the queue within a refresh or two.
      await page.locator(`#depth[data-value="${depth}"]`).waitFor({ timeout: 30_000 });
      expect(await page.textContent('#depth')).toBe(String(depth));
      expect(await page.getAttribute('#waiting', 'data-value')).toBe(String(depth));
      // Let the page's history gather a few samples at this level.
      await page.waitForTimeout(1500);
    }

    expect(await page.getAttribute('#consumers', 'data-value')).toBe('0');
    expect(Number(await page.getAttribute('#oldest-wait', 'data-value'))).toBeGreaterThan(0);
    // The depth chart drew the history as a line.
    expect(await page.locator('#chart-depth path[data-series="depth"]').count()).toBe(1);

    // The batch in progress, with what it has enqueued so far.
    const row = page.locator('tr[data-batch-id="filling"]');
    await expect.poll(() => row.count()).toBe(1);
    expect(await row.textContent()).toContain('ingesting');
    expect(await row.textContent()).toContain('team=fraud');
    expect(await row.textContent()).toContain('0 / 15+ chunks');
    expect(await page.locator('tr[data-batch-id="paid"]').count()).toBe(0);

    // Cost by team: the accounted figures, and the budget use.
    const risk = page.locator('tr[data-team="risk"]');
    expect(await risk.getAttribute('data-usd')).toBe('0.25');
    expect(await risk.getAttribute('data-cpu-seconds')).toBe('1.5');
    expect(await risk.getAttribute('data-month-usd')).toBe('0.25');
    const riskText = await risk.textContent();
    expect(riskText).toContain('$0.2500');
    expect(riskText).toContain('50 %'); // efficiency: 1.5 used of 3 allocated CPU seconds
    expect(riskText).toContain('25 % of $1.00');

    // When it was read, in ISO 8601 with the browser's offset: the same instant as the API's.
    const updated = (await page.textContent('#updated')) ?? '';
    const iso = /^updated (\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+05:30)$/.exec(updated)?.[1];
    expect(iso, updated).toBeDefined();
    const generatedAt = (await page.getAttribute('body', 'data-generated-at')) ?? '';
    expect(Date.parse(iso ?? '')).toBe(Math.floor(Date.parse(generatedAt) / 1000) * 1000);
    for (const label of await page.locator('#chart-depth text').allTextContents()) {
      if (label.includes(':')) expect(label).toMatch(/^\d{2}:\d{2}:\d{2}\+05:30$/);
    }
    // Style and script come from the exporter as files, under a policy without 'unsafe-inline'.
    const res = await fetch(`${exporter.url}/`);
    const policy = res.headers.get('content-security-policy') ?? '';
    expect(policy).toContain("script-src 'self'");
    expect(policy).not.toContain('unsafe-inline');
    expect(await res.text()).not.toMatch(/<style|<script>|style=/);
    for (const asset of ['page/dashboard.css', 'page/dashboard.js']) expect((await fetch(`${exporter.url}/${asset}`)).status).toBe(200);

    await mkdir(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: path.join(ARTIFACTS, 'exporter-dashboard.png'), fullPage: true });
    expect(errors).toEqual([]);
    await queue.close();
  });
});

describe('the page files', () => {
  it('ship beside the compiled module and beside the bundle, the same as in src', async () => {
    const src = path.join(ROOT, 'src/exporter/page');
    const names = (await readdir(src)).sort();
    expect(names).toEqual(['dashboard.css', 'dashboard.js', 'index.html']);
    for (const built of ['dist/exporter/page', 'dist/bundle/page']) {
      expect((await readdir(path.join(ROOT, built))).sort(), built).toEqual(names);
      for (const name of names)
        expect(await readFile(path.join(ROOT, built, name), 'utf8'), `${built}/${name}`).toBe(await readFile(path.join(src, name), 'utf8'));
    }
  });

  it('are found from the source module and from the compiled one', async () => {
    const compiled = (await import(path.join(ROOT, 'dist/exporter/dashboard-page.js'))) as { DashboardPage: typeof DashboardPage };
    for (const page of [new DashboardPage(), new compiled.DashboardPage()]) {
      for (const route of PAGE_PATHS) expect((await page.file(route))?.body.length, route).toBeGreaterThan(0);
    }
  });
});
