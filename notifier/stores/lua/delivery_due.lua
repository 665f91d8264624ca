-- Move what is due into the job stream: retries whose time came, and held
-- (user, channel) buckets whose window ended. A bucket becomes one job: its
-- only job as it was, or a digest of all its notifications (field n a JSON
-- array, oldest job first, k the number of notifications).
-- A digest's job id is its first job's id and '+<k - 1>': stable through its own
-- retries, and never the id of an earlier digest (that one had fewer notifications).
-- KEYS: jobs, delayed, held, held_jobs
-- ARGV: limit (of retries, and of buckets)
-- Returns {jobs added, earliest due time still ahead (ms) or ''}.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local limit = tonumber(ARGV[1])
local FIELDS = {'job', 'user', 'channel', 'nid', 'n', 'k', 'attempt', 'not_before'}
local added = 0

local function add(job)
  local args = {'XADD', KEYS[1], '*'}
  for _, name in ipairs(FIELDS) do
    if job[name] ~= nil then
      args[#args + 1] = name
      args[#args + 1] = tostring(job[name])
    end
  end
  redis.call(unpack(args))
  added = added + 1
end

for _, member in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, limit)) do
  redis.call('ZREM', KEYS[2], member)
  add(cjson.decode(member))
end

for _, bucket in ipairs(redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now, 'LIMIT', 0, limit)) do
  local low, high = '[' .. bucket .. '\0', '(' .. bucket .. '\1'
  local members = redis.call('ZRANGEBYLEX', KEYS[4], low, high)
  redis.call('ZREMRANGEBYLEX', KEYS[4], low, high)
  redis.call('ZREM', KEYS[3], bucket)
  if #members == 1 then
    local job = cjson.decode(string.sub(members[1], #bucket + 2))
    job.not_before = '0'
    add(job)
  elseif #members > 1 then
    local parts, k, first = {}, 0, nil
    for i, member in ipairs(members) do
      local job = cjson.decode(string.sub(member, #bucket + 2))
      first = first or job
      local n = job.n
      if string.sub(n, 1, 1) == '[' then
        n = string.sub(n, 2, -2)
      end
      parts[i] = n
      k = k + tonumber(job.k or '1')
    end
    add({job = first.job .. '+' .. (k - 1), user = first.user, channel = first.channel,
         nid = first.nid, n = '[' .. table.concat(parts, ',') .. ']', k = k,
         attempt = '1', not_before = '0'})
  end
end

local wake = nil
for _, key in ipairs({KEYS[2], KEYS[3]}) do
  local first = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
  if first[2] and (wake == nil or tonumber(first[2]) < wake) then
    wake = tonumber(first[2])
  end
end
return {added, wake and tostring(wake) or ''}
