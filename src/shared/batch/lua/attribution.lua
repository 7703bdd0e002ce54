-- Shared: cost attribution and histograms, used by the chunk and attempt scripts. Labels
-- come from the batch hash, so callers never pass them and a chunk cannot be misattributed.
local function attribution(batchKey)
  local team, project = '', ''
  local raw = redis.call('HGET', batchKey, 'labels')
  if raw then
    local ok, labels = pcall(cjson.decode, raw)
    if ok and type(labels) == 'table' then
      if type(labels.team) == 'string' then team = labels.team end
      if type(labels.project) == 'string' then project = labels.project end
    end
  end
  return team, project, (redis.call('HGET', batchKey, 'model') or '')
end
local function observe(histKey, bucket, value)
  if bucket == '' then return end
  redis.call('HINCRBY', histKey, bucket, 1)
  redis.call('HINCRBY', histKey, 'count', 1)
  redis.call('HINCRBYFLOAT', histKey, 'sum', value)
end
-- Adds an attempt's usage to the batch and to the per-label and per-team-month counters.
local function addCost(batchKey, team, tuple)
  redis.call('HINCRBYFLOAT', batchKey, 'costUsd', ARG.costUsd)
  redis.call('HINCRBYFLOAT', batchKey, 'cpuSeconds', ARG.cpuSeconds)
  redis.call('HINCRBYFLOAT', batchKey, 'allocatedCpuSeconds', ARG.allocatedCpuSeconds)
  redis.call('HINCRBYFLOAT', batchKey, 'wallSeconds', ARG.wallSeconds)
  redis.call('HINCRBYFLOAT', KEY.costUsd, tuple, ARG.costUsd)
  redis.call('HINCRBYFLOAT', KEY.cpuSeconds, tuple, ARG.cpuSeconds)
  redis.call('HINCRBYFLOAT', KEY.allocatedCpuSeconds, tuple, ARG.allocatedCpuSeconds)
  redis.call('HINCRBYFLOAT', KEY.teamMonthCost, team, ARG.costUsd)
  redis.call('EXPIRE', KEY.teamMonthCost, ARG.monthTtl)
end
