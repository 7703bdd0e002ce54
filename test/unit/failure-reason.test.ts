import { UnrecoverableError } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { parseReadyMark, readyMark } from '../../src/consumer/attempt-clock.js';
import { failureReason } from '../../src/consumer/failure-reason.js';
import { InvalidChunkEventError } from '../../src/shared/events/chunk-event.js';
import { ModelError, OutputError } from '../../src/shared/errors.js';

describe('failureReason', () => {
  it('maps errors to a small set of labels, never their messages', () => {
    expect(failureReason(new ModelError('cannot read /models/x.json'))).toBe('model_invalid');
    expect(failureReason(new OutputError('no'))).toBe('output_invalid');
    expect(failureReason(new InvalidChunkEventError('bad'))).toBe('chunk_event_invalid');
    expect(failureReason(new UnrecoverableError('model returned 3 predictions for 4 records'))).toBe('unrecoverable');
    expect(failureReason(Object.assign(new Error('no space'), { code: 'ENOSPC' }))).toBe('system_enospc');
    expect(failureReason(Object.assign(new Error('x'), { code: 'not a system code' }))).toBe('error');
    expect(failureReason('a string')).toBe('error');
  });
});

describe('ready marks', () => {
  it('are read only by the attempt they were written for', () => {
    const mark = readyMark(3, 1_700_000_000_123.4);
    expect(mark).toBe('3:1700000000123');
    expect(parseReadyMark(mark, 3)).toBe(1_700_000_000_123);
    expect(parseReadyMark(mark, 4)).toBeUndefined();
    expect(parseReadyMark(null, 2)).toBeUndefined();
    expect(parseReadyMark('garbage', 2)).toBeUndefined();
  });
});
