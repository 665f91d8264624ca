-- Hold a job in its (user, channel) bucket until a time, and acknowledge its
-- stream entry, in one step: nothing is lost between the two.
-- The bucket is released at the latest time any of its jobs asked for.
-- KEYS: jobs, held, held_jobs
-- ARGV: group, entry id ('' when the job is not in the stream), bucket, job JSON, until_ms
redis.call('ZADD', KEYS[3], 0, ARGV[3] .. '\0' .. ARGV[4])
redis.call('ZADD', KEYS[2], 'GT', ARGV[5], ARGV[3])
if ARGV[2] ~= '' then
  redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
  redis.call('XDEL', KEYS[1], ARGV[2])
end
return 1
