-- Reset the idle time of jobs a consumer is still working on, so no other
-- worker reclaims them while their sends are in progress (a slow provider).
-- Only entries this consumer still holds are touched: one already reclaimed by
-- another worker stays theirs.
-- KEYS: jobs
-- ARGV: group, consumer, entry ids...
-- Returns how many were renewed.
local renewed = 0
for i = 3, #ARGV do
  local found = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[i], ARGV[i], 1)
  if found[1] and found[1][2] == ARGV[2] then
    redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[i], 'JUSTID')
    renewed = renewed + 1
  end
end
return renewed
