-- Claims several idempotency keys (the keys after the named ones) at once: if any already
-- names a batch, every key is pointed at that batch (so later duplicates find it by any of
-- them) and its id returned; otherwise all keys get ARG.id. One script, so two duplicates
-- racing never both win.
local existing = false
for i = FIRST_MORE_KEY, #KEYS do
  local v = redis.call('GET', KEYS[i])
  if v then existing = v; break end
end
local value = existing or ARG.id
for i = FIRST_MORE_KEY, #KEYS do redis.call('SET', KEYS[i], value, 'EX', ARG.ttl, 'NX') end
return existing
