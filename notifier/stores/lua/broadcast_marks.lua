-- Mark broadcasts read or dismissed for one user and tell the user's streams.
-- KEYS: broadcast state hash, unread zset, user channel
-- ARGV: now_ms, mode ('read', 'dismiss' or 'all'), bound ('all': newest id
--       read; else ''), prune_before (marks of ids older are dropped; '' none),
--       publish command (PUBLISH or SPUBLISH), then the broadcast ids (checked alive and visible by the caller)
-- Returns {the user's own unread count, newly marked id, ...}.
local function parse(id)
  local dash = string.find(id, '-', 1, true)
  return tonumber(string.sub(id, 1, dash - 1)), tonumber(string.sub(id, dash + 1))
end
local function before(a, b)
  local ams, aseq = parse(a)
  local bms, bseq = parse(b)
  return ams < bms or (ams == bms and aseq < bseq)
end

local mode = ARGV[2]
local upto = redis.call('HGET', KEYS[1], 'upto')
local marked = {}
for i = 6, #ARGV do
  local id = ARGV[i]
  if mode == 'dismiss' then
    if redis.call('HSETNX', KEYS[1], 'd:' .. id, 1) == 1 then
      redis.call('HDEL', KEYS[1], 'r:' .. id)
      marked[#marked + 1] = id
    end
  elseif redis.call('HEXISTS', KEYS[1], 'd:' .. id) == 0
      and not (upto and not before(upto, id)) then
    if mode == 'all' then
      if redis.call('HDEL', KEYS[1], 'r:' .. id) == 0 then
        marked[#marked + 1] = id
      end
    elseif redis.call('HSETNX', KEYS[1], 'r:' .. id, 1) == 1 then
      marked[#marked + 1] = id
    end
  end
end
if mode == 'all' and ARGV[3] ~= '' and (not upto or before(upto, ARGV[3])) then
  redis.call('HSET', KEYS[1], 'upto', ARGV[3])
end
if ARGV[4] ~= '' then
  for _, field in ipairs(redis.call('HKEYS', KEYS[1])) do
    local sep = string.sub(field, 2, 2)
    if sep == ':' and before(string.sub(field, 3), ARGV[4]) then
      redis.call('HDEL', KEYS[1], field)
    end
  end
end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[1])
local count = redis.call('ZCARD', KEYS[2])
if #marked > 0 then
  local ids = {}
  for i, id in ipairs(marked) do
    ids[i] = 'b' .. id
  end
  redis.call(ARGV[5], KEYS[3], '{"kind":"' .. (mode == 'dismiss' and 'deleted' or 'read') ..
    '","ids":["' .. table.concat(ids, '","') .. '"],"unread":' .. count .. '}')
end
local out = {count}
for _, id in ipairs(marked) do
  out[#out + 1] = id
end
return out
