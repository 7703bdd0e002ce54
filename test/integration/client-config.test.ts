/**
 * `batchinfer submit` and `status` configured by the environment, as a CronJob runs them:
 * the producer from `BATCHINFER_SERVER`, the bearer token from `API_TOKEN`, both read
 * through the config module (a malformed value is a configuration error, exit 2).
 * Real CLI processes against a real producer and redis-server.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect } from 'vitest';
import { runCli } from '../helpers/cli.js';
import type { RunningService } from '../helpers/cli.js';
import { it } from '../helpers/fixtures.js';

let producer: RunningService;
let dataset: string;
const TOKEN = 'client-token-51c2';

it.beforeAll(async ({ workDir, serviceEnv, fileServices }) => {
  dataset = pathToFileURL(path.join(workDir, 'd.jsonl')).toString();
  await writeFile(new URL(dataset), '{"id":1,"features":[1]}\n');
  producer = await fileServices.start('producer', serviceEnv({ API_TOKEN: TOKEN }));
});

describe('client commands', () => {
  it('find the producer through BATCHINFER_SERVER and send API_TOKEN', async () => {
    const env = { BATCHINFER_SERVER: `${producer.url}/`, API_TOKEN: TOKEN };
    const submitted = await runCli(['submit', dataset, '--json'], { env });
    expect(submitted.code, submitted.stderr).toBe(0);
    const { id } = JSON.parse(submitted.stdout) as { id: string };
    const status = await runCli(['status', id, '--json'], { env });
    expect(status.code, status.stderr).toBe(0);
    expect((JSON.parse(status.stdout) as { id: string }).id).toBe(id);
  });

  it('are refused without the token (the server answers 401: exit 2, the line says to set API_TOKEN)', async () => {
    const result = await runCli(['submit', dataset], { env: { BATCHINFER_SERVER: producer.url } });
    expect(result.code).toBe(2);
    expect(result.stderr.trim()).toMatch(/^batchinfer submit: the producer answered 401: .*API_TOKEN/);
  });

  it('stop with a configuration error (exit 2) on a malformed BATCHINFER_SERVER, before any request', async () => {
    const result = await runCli(['submit', dataset], { env: { BATCHINFER_SERVER: 'localhost:8080', API_TOKEN: TOKEN } });
    expect(result.code).toBe(2);
    const status = await runCli(['status', 'x'], { env: { BATCHINFER_SERVER: 'ftp://producer', API_TOKEN: TOKEN } });
    expect(status.code).toBe(2);
  });
});
