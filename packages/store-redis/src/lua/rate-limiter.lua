--[[
  The rate limiter: a line-by-line port of the in-process engines in `local-rate-limiter-engine.ts`
  (@breakwater/core; keep them in step, `test/conformance` runs both on the same operation
  sequences). Lua numbers are doubles, like JS numbers, and every expression keeps the reference's
  order of operations, so both give the same answers to the bit.

  One call runs a batch of operations atomically on one limiter's state, a short string:
    fixed window  `F <cycle> <permissions>`
    GCRA          `G <tat>`            (tat printed with 17 significant digits: exact round trip)
  The key is deleted as soon as its state behaves like a fresh one (`freshAt` of the reference),
  so idle limiters cost no memory; otherwise it expires at that moment (Redis clock) or after
  `fixedTtl` (caller clock, tests: Redis's expiry clock is not the caller's).

  KEYS[1]  the state key
  ARGV     now ('' = Redis TIME), then the arguments RATE_LIMITER_ARGS names (wire/script-args.ts:
           algorithm 'F' | 'G', limit, period, fixedTtl ('' = expire when fresh, by the Redis
           clock)); then the operations, three arguments each:
           A permits timeoutMs | L permits remainingMs | U permits dueAt | D 0 0 | G 0 0
           (U gives back a grant whose caller gave up before the answer came: dueAt is when its
           permits went or go, the acquire's `now` plus its wait, on this script's clock)
  Returns  { reason, now, r1, r2, ... }: `reason` is '' or why the key was reset (garbage in
           it); `now` the instant the batch ran, what a late answer's grants are given back by
           (whole ms under Redis TIME; under the caller's clock the caller knows it already);
           one integer per operation (acquire: wait or -retryAfter; drain: permits taken;
           read: permits available; release, give-back: 0).
]]
--- @include "clock"
--- @generated "rate-limiter-args"
local EPS = 1e-6
local key = KEYS[1]

local function finite(x)
  return x ~= nil and x == x and x ~= math.huge and x ~= -math.huge
end

-- read the state ----------------------------------------------------------------

local garbage = ''
local c, p, tat
local raw = redis.pcall('GET', key)
if type(raw) == 'table' and raw.err then
  garbage = 'the key holds a ' .. redis.call('TYPE', key).ok .. ', not a rate limiter state'
  redis.call('DEL', key)
  raw = false
end
if raw then
  local kind, x, y = string.match(raw, '^(%u) (%S+) ?(%S*)$')
  if kind == 'F' then
    c = tonumber(x)
    p = tonumber(y)
    if not (finite(c) and c == math.floor(c) and finite(p)) then
      garbage = 'not a valid fixed-window state'
      c = nil
    end
  elseif kind == 'G' and y == '' then
    tat = tonumber(x)
    if not finite(tat) then
      garbage = 'not a valid GCRA state'
      tat = nil
    end
  else
    garbage = 'not a rate limiter state'
  end
end
-- A state of the other algorithm (another limiter of this name) means nothing here: start afresh,
-- as the in-process engine does.
if algorithm == 'F' and c == nil then
  c = math.floor(now / period)
  p = limit
elseif algorithm == 'G' and tat == nil then
  tat = now - period
end
local dirty = garbage ~= ''

-- fixed window (LocalFixedWindowEngine) ----------------------------------------

local function refresh()
  local cycle = math.floor(now / period)
  if cycle > c then
    p = math.min(limit, p + (cycle - c) * limit)
    c = cycle
  end
end

local function acquireF(permits, timeout)
  refresh()
  if p >= permits then
    p = p - permits
    dirty = true
    return 0
  end
  local debt = 0
  if p < 0 then debt = -p end
  local last = math.ceil(debt / limit)
  local fits = last > 0 and last * limit - debt >= permits
  local cycles = last + 1
  if fits then cycles = last end
  local wait = math.ceil((c + cycles) * period - now)
  if wait > timeout then return -wait end
  if fits then p = -(debt + permits) else p = -(last * limit + permits) end
  dirty = true
  return wait
end

local function releaseF(permits, remaining)
  if not (remaining > 0) then return end
  refresh()
  local last = 0
  if p < 0 then last = math.ceil(-p / limit) end
  -- due at the start of its period; half a period of slack absorbs the clock skew (as in-process)
  if math.floor((now + remaining + period / 2) / period) ~= c + last then return end
  p = math.min(limit, p + permits)
  dirty = true
end

local function giveBackF(permits, dueAt)
  if dueAt > now then
    releaseF(permits, dueAt - now)
    return
  end
  refresh()
  -- permits that went count only in the cycle they were taken from, never onto debt
  if math.floor(dueAt / period) ~= c or p < 0 then return end
  p = math.min(limit, p + permits)
  dirty = true
end

local function drainF()
  refresh()
  local drained = math.max(p, 0)
  if drained > 0 then
    p = 0
    dirty = true
  end
  return drained
end

local function readF()
  refresh()
  return p
end

-- GCRA (LocalGcraEngine) ----------------------------------------------------------

local T = period / limit

local function acquireG(permits, timeout)
  local earliest = tat + (permits - 1) * T
  if earliest <= now + EPS then
    tat = now + permits * T
    dirty = true
    return 0
  end
  local wait = math.ceil(earliest - now - EPS)
  if wait > timeout then return -wait end
  tat = earliest + permits * T
  dirty = true
  return wait
end

local function releaseG(permits, remaining)
  if not (remaining > 0) then return end
  local start = tat - permits * T
  local due = now + remaining
  if start <= due - 1 - EPS or start > due + EPS then return end
  tat = start - (permits - 1) * T
  dirty = true
end

local function giveBackG(permits, dueAt)
  local start = tat - permits * T
  if start <= dueAt - 1 - EPS or start > dueAt + EPS then return end
  tat = start - (permits - 1) * T
  -- as good as fresh already: the fresh state itself (the key is deleted below)
  if tat + period - T <= now then tat = now - period end
  dirty = true
end

local function availableG()
  return math.min(limit, math.floor((now - tat) / T + EPS) + 1)
end

local function drainG()
  local available = availableG()
  if available <= 0 then return 0 end
  tat = now + T
  dirty = true
  return available
end

-- run the batch -------------------------------------------------------------------

local results = { garbage, now }
local i = FIRST_OP
while i <= #A do
  local op = A[i]
  local r = 0
  if op == 'A' then
    if algorithm == 'F' then r = acquireF(tonumber(A[i + 1]), tonumber(A[i + 2]))
    else r = acquireG(tonumber(A[i + 1]), tonumber(A[i + 2])) end
  elseif op == 'L' then
    if algorithm == 'F' then releaseF(tonumber(A[i + 1]), tonumber(A[i + 2]))
    else releaseG(tonumber(A[i + 1]), tonumber(A[i + 2])) end
  elseif op == 'U' then
    if algorithm == 'F' then giveBackF(tonumber(A[i + 1]), tonumber(A[i + 2]))
    else giveBackG(tonumber(A[i + 1]), tonumber(A[i + 2])) end
  elseif op == 'D' then
    if algorithm == 'F' then r = drainF() else r = drainG() end
  elseif algorithm == 'F' then
    r = readF()
  else
    r = availableG()
  end
  results[#results + 1] = r
  i = i + 3
end

if dirty then
  -- From freshAt on, the state behaves exactly like a fresh one: nothing to keep after that.
  local freshAt, value
  if algorithm == 'F' then
    local missing = limit - p
    if missing <= 0 then freshAt = 0 else freshAt = (c + math.ceil(missing / limit)) * period end
    value = string.format('F %.17g %.17g', c, p)
  else
    freshAt = tat + period - T
    value = string.format('G %.17g', tat)
  end
  if freshAt <= now then
    redis.call('DEL', key)
  elseif fixedTtl ~= '' then
    redis.call('SET', key, value, 'PX', fixedTtl)
  else
    redis.call('SET', key, value, 'PX', math.ceil(freshAt - now))
  end
end
return results
