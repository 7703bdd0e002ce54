-- Shared: 1 when ingest has finished and every chunk is accounted for, else 0.
local function readyToClose(batchKey)
  if redis.call('HGET', batchKey, 'status') ~= 'running' then return 0 end
  local total = tonumber(redis.call('HGET', batchKey, 'chunksTotal') or '-1')
  local done = tonumber(redis.call('HGET', batchKey, 'chunksDone') or '0')
  if done >= total then return 1 end
  return 0
end
