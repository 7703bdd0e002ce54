import { describe, expect, it } from 'vitest';
import { redactUrl } from '../../src/shared/observability/redact.js';

describe('redactUrl', () => {
  it('drops passwords and query strings (presigned URLs carry signatures there)', () => {
    const out = redactUrl('https://alice:hunter2@data.example/d.jsonl?X-Amz-Signature=abc123&X-Amz-Credential=AKIA');
    expect(out).not.toContain('hunter2');
    expect(out).not.toContain('abc123');
    expect(out).not.toContain('AKIA');
    expect(out).toContain('data.example/d.jsonl');
    expect(redactUrl('redis://:pa55word@redis:6379/0')).not.toContain('pa55word');
  });

  it('keeps URLs without secrets as they are, and never echoes what does not parse', () => {
    expect(redactUrl('https://data.example/d.jsonl')).toBe('https://data.example/d.jsonl');
    expect(redactUrl('not a url with secret')).not.toContain('secret');
  });
});
