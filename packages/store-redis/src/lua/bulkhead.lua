--[[
  The bulkhead. A slot is a lease: a member of one sorted set scored by its expiry (epoch ms).
  Leases of running calls are renewed by their process; a process that dies stops renewing, and
  its leases are reclaimed once they expire. One call runs a batch of operations atomically; the
  count in use is the set's size, so no process can take a slot another holds.

  Someone refused since the last notice is marked by the member `~` (scored like a lease, so a
  stale mark lapses by itself). When a batch ends with slots free and the mark present, the script
  publishes a notice on the bulkhead's channel and removes the mark: waiting processes then retry.
  Releases nobody waits for publish nothing.

  KEYS[1]  the lease set
  ARGV     now ('' = Redis TIME), then the arguments BULKHEAD_ARGS names (wire/script-args.ts:
           max, leaseMs, channel, fixedTtl ('' = the set lives as long as its latest lease, by the
           Redis clock)); then the operations, two arguments each:
           A member (take a slot) | T member (take a slot; nobody will wait if refused)
           | L member (give it back) | N member (renew) | G 0 (read)
  Returns  { reason, retryMs, r1, r2, ... }: `reason` is '' or why the key was reset (garbage in it);
           `retryMs` is how long until the earliest lease expires when an acquire was refused (else -1);
           per operation: A, T 1 granted / 0 full; L 1 released / 0 not held; N 1 renewed / 0 lost;
           G slots in use.
]]
--- @include "clock"
--- @generated "bulkhead-args"
local MARK = '~'
local key = KEYS[1]

local garbage = ''
-- reclaim expired leases (and a lapsed mark)
local reclaimed = redis.pcall('ZREMRANGEBYSCORE', key, '-inf', now)
if type(reclaimed) == 'table' and reclaimed.err then
  garbage = 'the key holds a ' .. redis.call('TYPE', key).ok .. ', not bulkhead leases'
  redis.call('DEL', key)
elseif redis.call('ZREMRANGEBYSCORE', key, '+inf', '+inf') > 0 then
  garbage = 'a lease never expires'
end

local marked = redis.call('ZSCORE', key, MARK) ~= false
local inUse = redis.call('ZCARD', key)
if marked then inUse = inUse - 1 end
local expiry = now + leaseMs
local written = false
local refused = false

local results = { garbage, -1 }
local i = FIRST_OP
while i <= #A do
  local op = A[i]
  local member = A[i + 1]
  local r = 0
  if op == 'A' or op == 'T' then
    if inUse < max then
      if redis.call('ZADD', key, expiry, member) == 1 then inUse = inUse + 1 end
      written = true
      r = 1
    elseif op == 'A' then
      refused = true
    end
  elseif op == 'L' then
    r = redis.call('ZREM', key, member)
    inUse = inUse - r
  elseif op == 'N' then
    if redis.call('ZSCORE', key, member) then
      redis.call('ZADD', key, expiry, member)
      written = true
      r = 1
    end
  else
    r = inUse
  end
  results[#results + 1] = r
  i = i + 2
end

if marked or refused then
  if inUse < max then
    -- room now, and someone waited: tell them
    if marked then redis.call('ZREM', key, MARK) end
    redis.call('PUBLISH', channel, '')
  else
    redis.call('ZADD', key, expiry, MARK)
    written = true
  end
end

if refused then
  local first = redis.call('ZRANGE', key, 0, 1, 'WITHSCORES')
  for j = 1, #first, 2 do
    if first[j] ~= MARK then
      results[2] = math.max(1, math.ceil(tonumber(first[j + 1]) - now))
      break
    end
  end
end

if written then
  if fixedTtl ~= '' then
    redis.call('PEXPIRE', key, fixedTtl)
  else
    -- the set lives until its latest lease (any process's) runs out
    local last = redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')
    if last[2] then redis.call('PEXPIRE', key, math.max(1, math.ceil(tonumber(last[2]) - now))) end
  end
end
return results
