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
  ])('refuses %j naming field %s', (body, field) => {
    expect(fieldOf(body)).toBe(field);
  });

  it('accepts an outputUrl below the configured root', () => {
    expect(parseBatchRequest({ datasetUrl: 'https://e.com/d', outputUrl: 'file:///data/out/team-a' }, { config }).outputUrl).toBe(
      'file:///data/out/team-a',
    );
  });
});
