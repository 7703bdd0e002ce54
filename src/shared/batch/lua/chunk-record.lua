-- Shared: a chunk's accounted result, kept in the chunks hash so a replay replaces it
-- instead of adding to it: succeeded|failed|predictionSum|predictionCount|latencyMs|chunkFailed
-- and, for a chunk that failed for good, |<failure code> (absent in records written before
-- codes were kept, which then count under CHUNK_FAILED).
local function parseChunkRecord(raw)
  local s, f, p, pc, l, x, code = string.match(raw, '^([^|]*)|([^|]*)|([^|]*)|([^|]*)|([^|]*)|([^|]*)|?([^|]*)$')
  if code == '' then code = 'CHUNK_FAILED' end
  return { succeeded = tonumber(s), failed = tonumber(f), predictionSum = tonumber(p),
    predictionCount = tonumber(pc), latencyMs = tonumber(l), chunkFailed = tonumber(x), code = code }
end
