-- Schedule a job's next attempt and acknowledge this one, in one step.
-- KEYS: jobs, delayed
-- ARGV: group, entry id, the next attempt's job JSON, delay_ms
-- Returns when the next attempt is due (epoch ms, Redis's clock).
local t = redis.call('TIME')
local due = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) + tonumber(ARGV[4])
redis.call('ZADD', KEYS[2], due, ARGV[3])
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
redis.call('XDEL', KEYS[1], ARGV[2])
return tostring(due)
