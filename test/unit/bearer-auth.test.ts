import type http from 'node:http';
import { describe, expect, it } from 'vitest';
import { checkBearer } from '../../src/producer/http-api.js';
import { UnauthorizedError } from '../../src/shared/errors.js';

const TOKEN = 's3cret-token-Z';
const request = (authorization?: string): http.IncomingMessage =>
  ({ headers: authorization === undefined ? {} : { authorization } }) as http.IncomingMessage;

describe('checkBearer', () => {
  it('accepts the token, with the scheme in any case', () => {
    expect(() => checkBearer(request(`Bearer ${TOKEN}`), TOKEN)).not.toThrow();
    expect(() => checkBearer(request(`bearer ${TOKEN}`), TOKEN)).not.toThrow();
  });

  it.each([
    undefined,
    '',
    'Bearer',
    'Bearer ',
    `Basic ${Buffer.from(`user:${TOKEN}`).toString('base64')}`,
    `Bearer ${TOKEN}x`,
    `Bearer ${TOKEN.slice(0, -1)}`,
    `Bearer ${TOKEN.toUpperCase()}`,
    `Bearer ${TOKEN} extra`,
    `${TOKEN}`,
    'Bearer s3cret-token-Y',
  ])('refuses %j', (header) => {
    expect(() => checkBearer(request(header), TOKEN)).toThrow(UnauthorizedError);
  });

  it('lets everything through when no API_TOKEN is set', () => {
    expect(() => checkBearer(request(), undefined)).not.toThrow();
  });
});
