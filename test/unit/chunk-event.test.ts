import { describe, expect, it } from 'vitest';
import {
  buildChunkEvent,
  CHUNK_EVENT_TYPE,
  InvalidChunkEventError,
  isSplitRef,
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
    expect(event).toMatchObject({ specversion: '1.0', type: CHUNK_EVENT_TYPE, id: 'b-1-4', subject: 'b-1', data });
    // Survives the JSON round trip BullMQ puts it through.
    expect(readChunkEvent(JSON.parse(JSON.stringify(event))).data).toEqual(data);
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
