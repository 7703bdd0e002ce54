import { CloudEvent } from 'cloudevents';
import { describe, expect, it } from 'vitest';
import { eventData, pingSourceOf, readCloudEvent, scheduledSubmission } from '../../src/producer/scheduled-event.js';
import { CloudEventError, ValidationError } from '../../src/shared/errors.js';

const config = { chunkSize: 1000, model: 'sum', modelRoot: '/models', outputUrl: 'file:///data/out', datasetAllowedSchemes: ['https'] };
const SOURCE = '/apis/v1/namespaces/ml/pingsources/nightly';

const ping = (data: unknown, extra: Record<string, unknown> = {}): CloudEvent<unknown> =>
  new CloudEvent<unknown>({
    type: 'dev.knative.sources.ping',
    source: SOURCE,
    id: 'e1',
    time: '2026-11-23T02:00:00.250Z',
    datacontenttype: 'application/json',
    data,
    ...extra,
  });

describe('scheduled CloudEvents', () => {
  it('names the PingSource from its event source', () => {
    expect(pingSourceOf(SOURCE)).toEqual({ namespace: 'ml', name: 'nightly' });
    expect(pingSourceOf('/apis/v1beta2/namespaces/a/pingsources/b')).toEqual({ namespace: 'a', name: 'b' });
    expect(pingSourceOf('https://example.com/x')).toBeUndefined();
  });

  it('builds the request with placeholders from the scheduled minute, the schedule, and dedupe keys for event and tick', () => {
    const { request, dedupeKeys } = scheduledSubmission(
      ping({ datasetUrl: 'https://d/{{yesterday}}.jsonl', idempotencyKey: 'n-{{date}}' }),
      { config },
    );
    expect(request).toMatchObject({ datasetUrl: 'https://d/2026-11-22.jsonl', idempotencyKey: 'n-2026-11-23', schedule: 'nightly' });
    expect(dedupeKeys).toEqual([`ce/${SOURCE}/e1`, `tick/${SOURCE}/2026-11-23T02:00:00.000Z`]);
  });

  it('uses the receipt time when the event has none, and then dedupes on the event only', () => {
    const noTime = {
      specversion: '1.0',
      type: 'dev.knative.sources.ping',
      source: SOURCE,
      id: 'e2',
      data: { datasetUrl: 'https://d/{{date}}' },
    };
    const { request, dedupeKeys } = scheduledSubmission(noTime, { config }, new Date('2027-01-02T00:00:30Z'));
    expect(request.datasetUrl).toBe('https://d/2027-01-02');
    expect(dedupeKeys).toEqual([`ce/${SOURCE}/e2`]);
  });

  it('reads data given as JSON text, bytes or base64 of JSON', () => {
    const body = { datasetUrl: 'https://d/x.jsonl' };
    expect(eventData(ping(JSON.stringify(body)))).toEqual(body);
    expect(eventData(ping(new Uint32Array(Buffer.from(JSON.stringify(body)))))).toEqual(body);
    expect(eventData(ping(Buffer.from(JSON.stringify(body)).toString('base64')))).toEqual(body);
    expect(() => eventData(ping('not json'))).toThrow(ValidationError);
  });

  it('refuses other types, non-object data and batch fields that do not validate, naming the field', () => {
    const field = (fn: () => unknown): string | undefined => {
      try {
        fn();
      } catch (err) {
        if (err instanceof ValidationError) return err.field;
        throw err;
      }
      return undefined;
    };
    expect(field(() => scheduledSubmission(ping({ datasetUrl: 'https://d' }, { type: 'x.y' }), { config }))).toBe('type');
    expect(field(() => scheduledSubmission(ping([1, 2]), { config }))).toBe('data');
    expect(field(() => scheduledSubmission(ping({ datasetUrl: 'ftp://d/x' }), { config }))).toBe('datasetUrl');
    expect(field(() => scheduledSubmission(ping({ datasetUrl: 'https://d/{{nope}}' }), { config }))).toBe('datasetUrl');
  });

  it('reads binary and structured HTTP messages and refuses what is not a CloudEvent', () => {
    const binary = readCloudEvent(
      {
        'ce-specversion': '1.0',
        'ce-type': 'dev.knative.sources.ping',
        'ce-source': SOURCE,
        'ce-id': 'b1',
        'content-type': 'application/json; charset=utf-8',
      },
      Buffer.from('{"datasetUrl":"https://d/x"}'),
    );
    expect(binary).toMatchObject({ id: 'b1', source: SOURCE });
    expect(eventData(binary)).toEqual({ datasetUrl: 'https://d/x' });
    const structured = readCloudEvent(
      { 'content-type': 'application/cloudevents+json' },
      Buffer.from(JSON.stringify({ specversion: '1.0', type: 't', source: SOURCE, id: 's1', data: { a: 1 } })),
    );
    expect(structured).toMatchObject({ id: 's1', data: { a: 1 } });
    expect(() => readCloudEvent({ 'content-type': 'application/json' }, Buffer.from('{}'))).toThrow(CloudEventError);
    expect(() => readCloudEvent({ 'ce-id': 'x', 'ce-specversion': '1.0' }, Buffer.from('{}'))).toThrow(CloudEventError);
  });
});
