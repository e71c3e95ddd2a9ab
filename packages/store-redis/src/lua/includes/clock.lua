-- The opening of every script: `now` in epoch ms from Redis TIME (so that client clock skew cannot
-- split the fleet), or from ARGV[1] when the store runs on the caller's clock (tests), and
-- `nowMicros`, the same instant in µs (for identifiers that must differ between instants).
local A = ARGV
local now, nowMicros
if A[1] ~= '' then
  now = tonumber(A[1])
  nowMicros = now * 1000
else
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  nowMicros = tonumber(t[1]) * 1000000 + tonumber(t[2])
end
