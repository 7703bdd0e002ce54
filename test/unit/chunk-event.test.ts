import { describe, expect, it } from 'vitest';
import { buildChunkEvent, CHUNK_EVENT_TYPE, InvalidChunkEventError, readChunkEvent } from '../../src/shared/events/chunk-event.js';
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

  it('refuses job data that is not a chunk event', () => {
    expect(() => readChunkEvent({ foo: 1 })).toThrow(InvalidChunkEventError);
    expect(() => readChunkEvent({ ...buildChunkEvent(data), type: 'other' })).toThrow(InvalidChunkEventError);
    expect(() => readChunkEvent({ ...buildChunkEvent(data), data: { batchId: 'x' } })).toThrow(InvalidChunkEventError);
  });
});
