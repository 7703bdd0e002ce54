-- Gives back keys (those after the named ones) claimed for a batch that was never created:
-- each is deleted only if it still names that batch (ARG.id) and the batch does not exist,
-- so a key another submission holds, or one whose batch was created after all, is never
-- taken away. Returns how many keys were released.
if redis.call('EXISTS', KEY.batch) == 1 then return 0 end
local n = 0
for i = FIRST_MORE_KEY, #KEYS do
  if redis.call('GET', KEYS[i]) == ARG.id then
    redis.call('DEL', KEYS[i])
    n = n + 1
  end
end
return n
