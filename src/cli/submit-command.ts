/** `batchinfer submit <datasetUrl>`: one batch to a running producer; prints its id. */
import { expandTimePlaceholders, scheduledMinute } from '../shared/time-template.js';
import { positiveInt, UsageError } from './args.js';
import { booleanFlag, listFlag, onePositional, stringFlag } from './command-spec.js';
import type { ParsedCommand } from './command-spec.js';
import { SUBMIT_SPEC } from './command-specs.js';
import { EXIT } from './exit-codes.js';
import { parseLabels } from './labels.js';
import { producerClient } from './producer-client.js';

export async function submitCommand(parsed: ParsedCommand): Promise<number> {
  const datasetUrl = onePositional(SUBMIT_SPEC, parsed);
  // A CronJob runs the same command every time: the date comes from when it runs.
  const at = scheduledMinute(new Date());
  const expand = (text: string): string => {
    try {
      return expandTimePlaceholders(text, at);
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
  };
  const body: Record<string, unknown> = { datasetUrl: expand(datasetUrl) };
  const model = stringFlag(parsed, 'model');
  if (model) body.model = model;
  const format = stringFlag(parsed, 'format');
  if (format) body.format = format;
  const chunkSize = positiveInt(stringFlag(parsed, 'chunk-size'), '--chunk-size');
  if (chunkSize !== undefined) body.chunkSize = chunkSize;
  const output = stringFlag(parsed, 'output');
  if (output) body.outputUrl = output;
  const labels = listFlag(parsed, 'label');
  if (labels.length) body.labels = parseLabels(labels);
  const key = stringFlag(parsed, 'idempotency-key');
  if (key) body.idempotencyKey = expand(key);
  const schedule = stringFlag(parsed, 'schedule');
  if (schedule) body.schedule = schedule;
  const answer = (await producerClient(stringFlag(parsed, 'server')).call('POST', '/v1/batches', body)) as { id: string };
  process.stdout.write(booleanFlag(parsed, 'json') ? `${JSON.stringify(answer)}\n` : `${answer.id}\n`);
  return EXIT.ok;
}
