/**
 * Label cardinality under a fuzzed stream of submissions, against a real producer, exporter
 * consumer and redis-server on loopback (cost series exist once chunks are accounted): bad `team`/`project` values are refused with a 400 naming the
 * field, and past `METRIC_LABEL_VALUES_MAX` values per label the exporter publishes `other`,
 * so its series count stays under the cap documented in docs/operations.md.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import fc from 'fast-check';
import { describe, expect } from 'vitest';
import { callApi, waitForEnd } from '../helpers/batches.js';
import { writeJsonlDataset } from '../helpers/datasets.js';
import { parseMetricsText } from '../helpers/metrics-text.js';
import { it } from '../helpers/fixtures.js';
import { waitUntil } from '../helpers/wait-until.js';

const CAP = 5;
const SUBMISSIONS = 120;
const MODELS = 9;
let dir: string;

it.beforeAll(async ({ workDir }) => {
  dir = workDir;
  for (let i = 0; i < MODELS; i++) await writeFile(path.join(dir, `m${i}.json`), '{}');
});

/** A label value as users might send it: good ones, and long, spaced, quoted or unicode ones. */
const labelValue = fc.oneof(
  fc.stringMatching(/^[a-z][a-z0-9-]{0,20}[a-z0-9]$/),
  fc.string({ maxLength: 80 }),
  fc.string({ unit: 'grapheme', maxLength: 10 }),
  fc.constantFrom('', 'other', 'risk"} 1\nfake 2', 'x'.repeat(64), 'a b'),
);
const submission = fc.record({
  team: fc.option(labelValue, { nil: undefined }),
  project: fc.option(labelValue, { nil: undefined }),
  model: fc.integer({ min: 0, max: MODELS - 1 }),
});
const VALID = /^(?:[A-Za-z0-9](?:[A-Za-z0-9._-]{0,61}[A-Za-z0-9])?)?$/;

describe('label cardinality', () => {
  it(
    `${SUBMISSIONS} fuzzed submissions: bad values refused by field, the series stay under the cap`,
    { timeout: 120_000 },
    async ({ serviceEnv, services }) => {
      const env = serviceEnv({ MODEL_ROOT: dir, EXPORTER_SAMPLE_SECONDS: '1', METRIC_LABEL_VALUES_MAX: String(CAP) });
      const [producer, , exporter] = await Promise.all([
        services.start('producer', env),
        services.start('consumer', env),
        services.start('exporter', env),
      ]);
      const admitted: string[] = [];
      const data = await writeJsonlDataset(path.join(dir, 'd.jsonl'), 10);
      const seen = { team: new Set<string>(), project: new Set<string>(), model: new Set<string>() };

      // A bounded, reproducible stream (fixed seed): one submission at a time.
      for (const s of fc.sample(submission, { numRuns: SUBMISSIONS, seed: 15 })) {
        const labels: Record<string, string> = {};
        if (s.team !== undefined) labels.team = s.team;
        if (s.project !== undefined) labels.project = s.project;
        const model = `drill:m${s.model}.json`;
        const answer = await callApi(`${producer.url}/v1/batches`, 'POST', {
          datasetUrl: pathToFileURL(data.path).toString(),
          model,
          labels,
        });
        const bad = (['team', 'project'] as const).find((name) => labels[name] !== undefined && !VALID.test(labels[name] ?? ''));
        if (bad) {
          expect(answer.status, JSON.stringify(labels)).toBe(400);
          expect(answer.json.error?.field).toBe(`labels.${bad}`);
          continue;
        }
        expect(answer.status, JSON.stringify(answer.json)).toBe(202);
        admitted.push(String(answer.json.id));
        seen.team.add(labels.team ?? '');
        seen.project.add(labels.project ?? '');
        seen.model.add(model);
      }
      // The stream is worth its name: far more distinct values than the cap got through.
      expect(seen.team.size).toBeGreaterThan(3 * CAP);
      expect(seen.model.size).toBeGreaterThan(CAP);

      // Every admitted batch accounted: its cost is in the exporter's figures.
      for (const id of admitted) expect((await waitForEnd(() => producer.url, id)).status).toBe('completed');
      // The exporter samples Redis on an interval: wait for a sample taken after the accounting.
      const text = await waitUntil(
        async () => {
          const body = await (await fetch(`${exporter.url}/metrics`)).text();
          return body.includes('batchinfer_cost_usd_total{') ? body : undefined;
        },
        { what: 'the cost series in a scrape' },
      );
      const cost = parseMetricsText(text).samples.filter((x) => x.name === 'batchinfer_cost_usd_total');
      const records = parseMetricsText(text).samples.filter((x) => x.name === 'batchinfer_records_total');
      for (const label of ['team', 'project', 'model'] as const) {
        const values = new Set(cost.map((x) => x.labels[label]));
        // At most CAP values, plus `other`, plus "" (not set) for team and project.
        expect(values.size, `${label}: ${[...values].join(',')}`).toBeLessThanOrEqual(CAP + (label === 'model' ? 1 : 2));
        expect(values).toContain('other');
      }
      // The documented bound per cost family: (CAP + 2)² × (CAP + 1) label combinations.
      const bound = (CAP + 2) ** 2 * (CAP + 1);
      expect(cost.length).toBeLessThanOrEqual(bound);
      expect(records.length).toBeLessThanOrEqual(2 * bound);
      expect(cost.length).toBeGreaterThan(0);
    },
  );
});
