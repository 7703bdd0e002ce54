import { describe, expect, it } from 'vitest';
import { TemplateError } from '../../src/shared/errors.js';
import { expandTimePlaceholders, scheduledMinute } from '../../src/shared/time-template.js';

describe('time placeholders for scheduled runs', () => {
  const tick = new Date('2026-03-01T02:05:00Z');

  it('expands every documented placeholder in UTC', () => {
    const text = '{{date}} {{yesterday}} {{year}}/{{month}}/{{day}} {{hour}}:{{minute}} {{datetime}} {{timestamp}}';
    expect(expandTimePlaceholders(text, tick)).toBe('2026-03-01 2026-02-28 2026/03/01 02:05 2026-03-01T02:05Z 1772330700');
  });

  it('leaves text without placeholders alone and accepts spaces inside the braces', () => {
    expect(expandTimePlaceholders('https://d/x.jsonl', tick)).toBe('https://d/x.jsonl');
    expect(expandTimePlaceholders('s3://b/{{ date }}/', tick)).toBe('s3://b/2026-03-01/');
  });

  it('refuses an unknown placeholder, including inherited object names', () => {
    for (const bad of ['{{tomorrow}}', '{{constructor}}', '{{}}']) {
      expect(() => expandTimePlaceholders(bad, tick), bad).toThrow(TemplateError);
    }
  });

  it('takes the scheduled minute from a send time a little after it', () => {
    expect(scheduledMinute(new Date('2026-11-23T02:00:00.499Z')).toISOString()).toBe('2026-11-23T02:00:00.000Z');
    expect(scheduledMinute(new Date('2026-11-23T01:59:59.999Z')).toISOString()).toBe('2026-11-23T01:59:00.000Z');
  });
});
