import { describe, expect, it } from 'vitest';
import { parseBatchRequest } from '../../src/producer/batch-request.js';
import { ValidationError } from '../../src/shared/errors.js';

const config = {
  chunkSize: 1000,
  model: 'sum',
  modelRoot: '/models',
  outputUrl: 'file:///data/out',
  datasetAllowedSchemes: ['http', 'https'],
};

function fieldOf(body: unknown): string {
  try {
    parseBatchRequest(body, { config });
  } catch (err) {
    if (err instanceof ValidationError) return err.field;
    throw err;
  }
  throw new Error('expected a ValidationError');
}

describe('parseBatchRequest', () => {
  it('fills defaults and infers the format from the URL', () => {
    expect(parseBatchRequest({ datasetUrl: 'https://example.com/d.csv.gz' }, { config })).toEqual({
      datasetUrl: 'https://example.com/d.csv.gz',
      format: 'csv',
      model: 'sum',
      chunkSize: 1000,
      outputUrl: 'file:///data/out',
      labels: {},
    });
  });

  it.each([
    [null, 'body'],
    [[], 'body'],
    [{}, 'datasetUrl'],
    [{ datasetUrl: 'not a url' }, 'datasetUrl'],
    [{ datasetUrl: 'file:///etc/passwd' }, 'datasetUrl'],
    [{ datasetUrl: 'https://e.com/d', format: 'xml' }, 'format'],
    [{ datasetUrl: 'https://e.com/d', model: 'gpt' }, 'model'],
    [{ datasetUrl: 'https://e.com/d', model: 'linear:../../x.json' }, 'model'],
    [{ datasetUrl: 'https://e.com/d', chunkSize: 0 }, 'chunkSize'],
    [{ datasetUrl: 'https://e.com/d', chunkSize: 1.5 }, 'chunkSize'],
    [{ datasetUrl: 'https://e.com/d', outputUrl: 'file:///etc' }, 'outputUrl'],
    [{ datasetUrl: 'https://e.com/d', outputUrl: 'file:///data/out/../../etc' }, 'outputUrl'],
    [{ datasetUrl: 'https://e.com/d', labels: 'team' }, 'labels'],
    [{ datasetUrl: 'https://e.com/d', labels: { team: 3 } }, 'labels.team'],
    [{ datasetUrl: 'https://e.com/d', labels: { 'bad name': 'x' } }, 'labels.bad name'],
    [{ datasetUrl: 'https://e.com/d', idempotencyKey: '' }, 'idempotencyKey'],
    [{ datasetUrl: 'https://e.com/d', surprise: 1 }, 'surprise'],
    [JSON.parse('{"datasetUrl": "https://e.com/d", "labels": {"__proto__": "x"}}') as unknown, 'labels.__proto__'],
    [{ datasetUrl: 'https://e.com/d', labels: { __name__: 'x' } }, 'labels.__name__'],
    // team and project become metric labels: a Kubernetes label value, nothing else.
    [{ datasetUrl: 'https://e.com/d', labels: { team: 'x'.repeat(64) } }, 'labels.team'],
    [{ datasetUrl: 'https://e.com/d', labels: { team: 'risk"} 1\nfake_metric 2' } }, 'labels.team'],
    [{ datasetUrl: 'https://e.com/d', labels: { project: '-churn' } }, 'labels.project'],
    [{ datasetUrl: 'https://e.com/d', labels: { project: 'churn model' } }, 'labels.project'],
  ])('refuses %j naming field %s', (body, field) => {
    expect(fieldOf(body)).toBe(field);
  });

  it('accepts team and project values that are Kubernetes label values; other labels keep the looser rule', () => {
    const labels = { team: 'Risk-EU_2.a', project: 'x'.repeat(63), note: 'any text, up to 128' };
    expect(parseBatchRequest({ datasetUrl: 'https://e.com/d', labels }, { config }).labels).toEqual(labels);
  });

  it('accepts an outputUrl below the configured root', () => {
    expect(parseBatchRequest({ datasetUrl: 'https://e.com/d', outputUrl: 'file:///data/out/team-a' }, { config }).outputUrl).toBe(
      'file:///data/out/team-a',
    );
  });

  // Hostile spellings of a way out of OUTPUT_URL (file:///data/out): dot segments, encoded
  // dot segments and slashes, a neighbour with a common prefix, another host, a NUL byte.
  it.each([
    'file:///data/out/../etc',
    'file:///data/out/%2e%2e/etc',
    'file:///data/out/%2E%2E/%2e%2e/etc',
    'file:///data/out/.%2e/etc',
    'file:///data/out/..%2f..%2fetc',
    'file:///data/out/%2e%2e%2fetc',
    'file:///data/out\\..\\..\\etc',
    '/data/out/../etc',
    'data/out',
    'file:///data/out-evil',
    'file:///data',
    'file://evil.example/data/out',
    'file:///data/out/a%00b',
    'file:///data/out/a%0Ab',
    'http://example.com/data/out',
    '',
  ])('refuses the outputUrl %j', (outputUrl) => {
    expect(fieldOf({ datasetUrl: 'https://e.com/d', outputUrl })).toBe('outputUrl');
  });

  it.each(['file:///data/out/..team', 'file:///data/out/./a/../b', 'file:///data//out/c'])(
    'accepts %s, which stays inside the root',
    (outputUrl) => {
      expect(parseBatchRequest({ datasetUrl: 'https://e.com/d', outputUrl }, { config }).outputUrl.startsWith('file:///data/out/')).toBe(
        true,
      );
    },
  );

  it.each([
    'linear:../x.json',
    'linear:/etc/passwd',
    'linear:a/../../x.json',
    'linear:..',
    'linear:.',
    'linear:',
    'linear:a\u0000b.json',
    'linear',
    'sum:/etc/passwd',
    'constructor',
    '__proto__',
    'LINEAR:x.json',
  ])('refuses the model %j', (model) => {
    expect(fieldOf({ datasetUrl: 'https://e.com/d', model })).toBe('model');
  });

  it('accepts a model file below the model root, even one whose name starts with dots', () => {
    expect(parseBatchRequest({ datasetUrl: 'https://e.com/d', model: 'linear:team/..v2.json' }, { config }).model).toBe(
      'linear:team/..v2.json',
    );
  });
});
