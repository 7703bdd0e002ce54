import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/cli/args.js';
import { helpText, onePositional, parseCommand, withFlags } from '../../src/cli/command-spec.js';
import { RUN_SPEC } from '../../src/cli/command-specs.js';

describe('a command spec', () => {
  it('parses the flags it declares and refuses others as a usage error pointing at --help', () => {
    const parsed = parseCommand(RUN_SPEC, ['data.jsonl', '--consumers', '2', '--label', 'a=1', '--label', 'b=2', '-o', 'out']);
    expect(parsed.values).toMatchObject({ consumers: '2', label: ['a=1', 'b=2'], output: 'out' });
    expect(onePositional(RUN_SPEC, parsed)).toBe('data.jsonl');
    expect(() => parseCommand(RUN_SPEC, ['--bogus'])).toThrow(UsageError);
    expect(() => parseCommand(RUN_SPEC, ['--bogus'])).toThrow(/see batchinfer run --help/);
    expect(() => onePositional(RUN_SPEC, parseCommand(RUN_SPEC, []))).toThrow(/expected one <dataset>/);
  });

  it('can be extended by another module: the new flag parses and shows in --help with its default', () => {
    const extended = withFlags(RUN_SPEC, { sample: { type: 'string', value: 'N', help: 'records to sample', defaultText: 'all' } });
    expect(parseCommand(extended, ['d.csv', '--sample', '10']).values.sample).toBe('10');
    expect(helpText(extended)).toMatch(/--sample N +records to sample \[default: all\]/);
    // The original is untouched.
    expect(() => parseCommand(RUN_SPEC, ['--sample', 'x'])).toThrow(UsageError);
  });
});
