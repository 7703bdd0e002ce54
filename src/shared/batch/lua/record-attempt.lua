-- Accounts an attempt that failed and will be retried (or was handed back): its usage is
-- part of the batch's cost although a later attempt counts the chunk's records.
-- Returns 0, or -1 when the batch is gone.
-- uses: attribution, booked-once
if not firstBooking(KEY.booked, ARG.attemptId, ARG.bookedTtl) then return 0 end
observe(KEY.waitHistogram, ARG.waitBucket, ARG.wait)
observe(KEY.processingHistogram, ARG.processingBucket, ARG.processing)
redis.call('HINCRBY', KEY.chunkRetries, ARG.reason, 1)
if redis.call('EXISTS', KEY.batch) == 0 then return -1 end
local team, project, model = attribution(KEY.batch)
addCost(KEY.batch, team, cjson.encode({team, project, model}))
return 0
