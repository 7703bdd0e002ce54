import { describe, expect, it } from 'vitest';
import {
  buildChunkEvent,
  CHUNK_EVENT_TYPE,
  InvalidChunkEventError,
  isSplitRef,
  isStreamedRef,
  readChunkEvent,
} from '../../src/shared/events/chunk-event.js';
import type { ChunkData } from '../../src/shared/types.js';

const data: ChunkData = {
  batchId: 'b-1',
  chunkIndex: 4,
  firstLine: 4001,
  records: ['{"id":1,"features":[1]}'],
  format: 'jsonl',
  model: 'sum',
  outputUrl: 'file:///tmp/o',
};

describe('chunk CloudEvent', () => {
  it('is a structured-mode CloudEvent with the contract attributes', () => {
    const event = buildChunkEvent(data);
    expect(event).toMatchObject({ specversion: '1.0', type: CHUNK_EVENT_TYPE, id: 'b-1-4', subject: 'b-1' });
  });

  it('carries a streamed chunk as the contract has it, {batchId, chunkIndex, firstLine, records}, not the batch-level fields', () => {
    const event = buildChunkEvent({ ...data, format: 'csv', header: ['id', 'x'], schema: { idField: 'id' } });
    expect(event.data).toEqual({ batchId: 'b-1', chunkIndex: 4, firstLine: 4001, records: data.records });
    // Survives the JSON round trip BullMQ puts it through.
    const read = readChunkEvent(JSON.parse(JSON.stringify(event))).data;
    expect(isStreamedRef(read)).toBe(true);
    expect(read).toEqual(event.data);
    // Line numbers of rows spanning lines, and refused lines, are the chunk's own: they stay.
    const rows = { ...data, lines: [4001, 4003], records: ['a', 'b'], rejected: [{ index: 1, error: 'too long' }] };
    expect(buildChunkEvent(rows).data).toEqual({
      batchId: 'b-1',
      chunkIndex: 4,
      firstLine: 4001,
      records: ['a', 'b'],
      lines: [4001, 4003],
      rejected: [{ index: 1, error: 'too long' }],
    });
  });

  it('reads the whole chunk an earlier build queued, batch-level fields and all', () => {
    const read = readChunkEvent(JSON.parse(JSON.stringify({ ...buildChunkEvent(data), data }))).data;
    expect(isStreamedRef(read)).toBe(false);
    expect(isSplitRef(read)).toBe(false);
    expect(read).toEqual(data);
  });

  it('carries a split as the contract has it, {batchId, chunkIndex, source, version, start, end}, not the batch-level fields', () => {
    const split = {
      source: 'file:///d.jsonl',
      version: 'mtime:1:size:900',
      size: 900,
      start: 300,
      end: 600,
      splitIndex: 1,
      fileIndex: 0,
      lineBase: 0,
    };
    const event = buildChunkEvent({ ...data, records: undefined, firstLine: 1, split });
    expect(event.data).toEqual({
      batchId: 'b-1',
      chunkIndex: 4,
      source: 'file:///d.jsonl',
      version: 'mtime:1:size:900',
      start: 300,
      end: 600,
    });
    const read = readChunkEvent(JSON.parse(JSON.stringify(event))).data;
    expect(isSplitRef(read)).toBe(true);
    expect(read).toEqual(event.data);
    expect(() => readChunkEvent({ ...event, data: { ...event.data, start: 600 } })).toThrow(InvalidChunkEventError);
  });

  it('refuses job data that is not a chunk event', () => {
    expect(() => readChunkEvent({ foo: 1 })).toThrow(InvalidChunkEventError);
    expect(() => readChunkEvent({ ...buildChunkEvent(data), type: 'other' })).toThrow(InvalidChunkEventError);
    expect(() => readChunkEvent({ ...buildChunkEvent(data), data: { batchId: 'x' } })).toThrow(InvalidChunkEventError);
  });
});
