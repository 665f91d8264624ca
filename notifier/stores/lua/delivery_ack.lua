-- Acknowledge finished jobs and delete their entries, so the stream holds only
-- jobs waiting or in progress and never needs trimming (trimming could drop
-- entries still pending).
-- KEYS: jobs
-- ARGV: group, entry ids...
-- Returns how many were still pending.
local ids = {}
for i = 2, #ARGV do
  ids[#ids + 1] = ARGV[i]
end
if #ids == 0 then
  return 0
end
local acked = redis.call('XACK', KEYS[1], ARGV[1], unpack(ids))
redis.call('XDEL', KEYS[1], unpack(ids))
return acked
