-- The live reports of one partition of worker reports, judged by this node's clock
-- (the clock their "at" was written with).
-- KEYS: reports hash
-- ARGV: max age ms
-- Returns {worker id, report JSON, ...} of the reports not older than max age.
local time = redis.call('TIME')
local oldest = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000) - tonumber(ARGV[1])
local live = {}
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do
  local ok, report = pcall(cjson.decode, all[i + 1])
  if ok and type(report) == 'table' and (tonumber(report.at) or 0) >= oldest then
    live[#live + 1] = all[i]
    live[#live + 1] = all[i + 1]
  end
end
return live
