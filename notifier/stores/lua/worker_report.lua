-- Store one worker's stats report and drop the reports of workers that stopped
-- reporting (a dead worker disappears within max age). "at" is Redis's clock,
-- so workers on hosts with different clocks are judged alike.
-- KEYS: reports hash
-- ARGV: worker id, report JSON object, max age ms
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local report = cjson.decode(ARGV[2])
report.at = now
redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(report))
local oldest = now - tonumber(ARGV[3])
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do
  local ok, other = pcall(cjson.decode, all[i + 1])
  if not ok or type(other) ~= 'table' or (tonumber(other.at) or 0) < oldest then
    redis.call('HDEL', KEYS[1], all[i])
  end
end
return now
