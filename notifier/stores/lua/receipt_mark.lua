-- Record the first time a user saw or clicked notifications of their inbox.
-- KEYS: inbox stream
-- ARGV: field (seen_at | clicked_at), now_ms, ttl seconds, receipt key prefix
--       (Keys.receipts(user, ""): the user's hash tag, so the user's slot),
--       detail field ('' for none) and value set with a first click, then the ids.
-- Ids no longer in the inbox are skipped; a click counts as seen too.
-- Returns the ids whose field was newly set.
local marked = {}
for i = 7, #ARGV do
  local id = ARGV[i]
  if #redis.call('XRANGE', KEYS[1], id, id) > 0 then
    local key = ARGV[4] .. id
    if redis.call('HSETNX', key, ARGV[1], ARGV[2]) == 1 then
      marked[#marked + 1] = id
      if ARGV[5] ~= '' then
        redis.call('HSET', key, ARGV[5], ARGV[6])
      end
    end
    if ARGV[1] ~= 'seen_at' then
      redis.call('HSETNX', key, 'seen_at', ARGV[2])
    end
    redis.call('EXPIRE', key, ARGV[3])
  end
end
return marked
