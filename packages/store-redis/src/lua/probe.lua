-- The store guard's probe: a write, so that it fails where the policies' writes would (a Redis out
-- of memory, or paused for writes) and passes once they can go through again.
return redis.call('SET', KEYS[1], ARGV[1], 'PX', 10000)
