--[[
  The circuit breaker's state machine: a line-by-line port of `circuit-breaker-machine.ts` in
  @breakwater/core (keep them in step; `test/conformance` runs both on the same command sequences).
  One call runs a batch of operations atomically on one breaker's state, a JSON document in the
  shape of `BreakerState`, plus the probe leases Redis needs because processes die: a half-open
  permit is a lease that is reclaimed when it expires.

  KEYS[1]  the state key
  ARGV[1]  now: '' = Redis TIME; a number = the caller's clock (tests)
  ARGV[2]  the config: the arguments BREAKER_CONFIG names (wire/breaker-config.ts), in its order,
           joined by newlines with `origin` left empty, as a JSON string (the document stores it
           as it is, as `cfg`)
  ARGV[3]  the origin (the process, for the events channel)
  ARGV[4]  the operations in one string, space-separated, each its letter and its arguments
           comma-separated: `A` (acquire) | `R<gen>,<lease>,<outcome>` (record) | `L<gen>,<lease>`
           (release) | `T<target>` (transition) | `G` (read) | `O<gen>,<reason>` (carry a trip
           decided in-process while Redis was away); plus `E`, always last: renew the key's expiry
           even if nothing is written (RedisStore sends it at most once a second). A leading `+`
           says the batch holds only acquires, successes (outcome 0) and E. (wire/breaker-ops.ts
           packs them.)
  Stored   one JSON document (`BreakerState` plus leases), always written in one key order, hot
           fields first (DOCUMENT_FIELDS, wire/breaker-document.ts), so that the fast path can
           read and rewrite it with string operations; any other order (older versions wrote
           cjson's) is read as before. A count window's ring is a string of outcome digits.
  Returns  a JSON reply (numbers in JSON, so counts come back and rates are computed by the caller
           exactly as the in-process engine does), ending with the state and generation the batch
           left (`s`, `n`), or from the fast path the generation alone (the state is CLOSED).
]]
--- @include "breaker-fast-path"
--- @include "clock"
--- @generated "breaker-permits"

-- ARGV[2]: the config arguments, each in a local of its name (BREAKER_CONFIG); `origin` from ARGV[3]
--- @generated "breaker-config"

-- ARGV[4]: the operations, four entries each in OPS (letter, then its arguments, '0' when absent),
-- after an optional + (the batch's summary, for the fast path); E sets `renew`
local OPS = {}
local renew = false
for op in string.gmatch(string.match(A[4] or '', '^%+?(.*)'), '%S+') do
  local code, a, b, c = string.match(op, '^(%u)([^,]*),?([^,]*),?([^,]*)$')
  if not code then return redis.error_reply('breakwater: bad operation ' .. op) end
  if code == 'E' then
    renew = true
  else
    OPS[#OPS + 1] = code; OPS[#OPS + 1] = a; OPS[#OPS + 1] = b ~= '' and b or '0'; OPS[#OPS + 1] = c ~= '' and c or '0'
  end
end

local function waitFor(attempt)
  return waits[attempt] or waits[#waits]
end

-- windows ---------------------------------------------------------------

local function countWindow(size, min)
  -- The ring is a string, one digit per outcome: cjson moves a string far faster than an array.
  return { type = 'COUNT', size = size, ring = string.rep('0', size), head = 0, calls = 0, failures = 0, slow = 0, slowFailures = 0, minimumCalls = min }
end

local function timeWindow(size, min, at)
  local c, f, s, sf = {}, {}, {}, {}
  for i = 1, size do c[i] = 0; f[i] = 0; s[i] = 0; sf[i] = 0 end
  return { type = 'TIME', size = size, bucketCalls = c, bucketFailures = f, bucketSlow = s, bucketSlowFailures = sf,
    lastSecond = math.floor(at / 1000), calls = 0, failures = 0, slow = 0, slowFailures = 0, minimumCalls = min }
end

local function closedWindow(at)
  if windowType == 'COUNT' then return countWindow(windowSize, closedMin) end
  return timeWindow(windowSize, closedMin, at)
end

local function advance(w, at)
  local second = math.floor(at / 1000)
  local elapsed = second - w.lastSecond
  if elapsed <= 0 then return end
  if elapsed >= w.size then
    for i = 1, w.size do
      w.bucketCalls[i] = 0; w.bucketFailures[i] = 0; w.bucketSlow[i] = 0; w.bucketSlowFailures[i] = 0
    end
    w.calls = 0; w.failures = 0; w.slow = 0; w.slowFailures = 0
  else
    for s = w.lastSecond + 1, second do
      local i = (s % w.size) + 1
      if w.bucketCalls[i] ~= 0 then
        w.calls = w.calls - w.bucketCalls[i]
        w.failures = w.failures - w.bucketFailures[i]
        w.slow = w.slow - w.bucketSlow[i]
        w.slowFailures = w.slowFailures - w.bucketSlowFailures[i]
        w.bucketCalls[i] = 0; w.bucketFailures[i] = 0; w.bucketSlow[i] = 0; w.bucketSlowFailures[i] = 0
      end
    end
  end
  w.lastSecond = second
end

-- Adds n (0 or 1) to one count of a time window: in its bucket i and in its total.
local function addToBucket(w, i, bucket, total, n)
  if n == 0 then return end
  w[bucket][i] = w[bucket][i] + n
  w[total] = w[total] + n
end

local function recordOutcome(w, outcome, at)
  local failure = outcome % 2
  local slow = math.floor(outcome / 2)
  local slowFailure = failure * slow
  if w.type == 'COUNT' then
    -- A full ring of fast successes stays the same ring after one more: only where it starts would
    -- move, and no count or later eviction can tell.
    if outcome == 0 and w.calls == w.size and w.failures == 0 and w.slow == 0 then return end
    local head = w.head
    if w.calls == w.size then
      local old = string.byte(w.ring, head + 1) - 48
      local oldFailure = old % 2
      local oldSlow = math.floor(old / 2)
      w.failures = w.failures - oldFailure
      w.slow = w.slow - oldSlow
      w.slowFailures = w.slowFailures - oldFailure * oldSlow
    else
      w.calls = w.calls + 1
    end
    w.ring = string.sub(w.ring, 1, head) .. string.char(48 + outcome) .. string.sub(w.ring, head + 2)
    if head + 1 == w.size then w.head = 0 else w.head = head + 1 end
    w.failures = w.failures + failure
    w.slow = w.slow + slow
    w.slowFailures = w.slowFailures + slowFailure
  else
    advance(w, at)
    local i = (w.lastSecond % w.size) + 1
    addToBucket(w, i, 'bucketCalls', 'calls', 1)
    addToBucket(w, i, 'bucketFailures', 'failures', failure)
    addToBucket(w, i, 'bucketSlow', 'slow', slow)
    addToBucket(w, i, 'bucketSlowFailures', 'slowFailures', slowFailure)
  end
end

local function countsOf(w)
  return { w.calls, w.failures, w.slow, w.slowFailures, w.minimumCalls }
end

local function failureExceeded(w) return w.failures * 100 >= failureRateThreshold * w.calls end
local function slowExceeded(w) return w.slow * 100 >= slowCallRateThreshold * w.calls end

-- state -------------------------------------------------------------------

local fx = { t = {}, x = {}, z = false }
local garbage = nil

local function initial(at)
  return { v = 1, state = 'CLOSED', generation = 0, since = at, openUntil = 0, attempts = 0, halfOpenAvailable = 0,
    consecutiveFailures = 0, notPermitted = 0, exceededReported = false, window = closedWindow(at), leases = {}, leaseSeq = 0 }
end

local VALID_STATES = { CLOSED = true, OPEN = true, HALF_OPEN = true, DISABLED = true, FORCED_OPEN = true, METRICS_ONLY = true }

local function problem(s)
  if type(s) ~= 'table' then return 'not an object' end
  if s.v ~= 1 then return 'unknown format version' end
  if not VALID_STATES[s.state] then return 'unknown state' end
  for _, k in ipairs({ 'generation', 'since', 'openUntil', 'attempts', 'halfOpenAvailable', 'consecutiveFailures', 'notPermitted' }) do
    if type(s[k]) ~= 'number' then return k .. ' is not a number' end
  end
  local w = s.window
  if type(w) ~= 'table' then return 'no window' end
  for _, k in ipairs({ 'size', 'calls', 'failures', 'slow', 'slowFailures', 'minimumCalls' }) do
    if type(w[k]) ~= 'number' then return 'window ' .. k .. ' is not a number' end
  end
  if w.type == 'COUNT' then
    if type(w.ring) ~= 'string' or #w.ring ~= w.size or string.find(w.ring, '[^0-3]') or type(w.head) ~= 'number' then
      return 'bad count window'
    end
    if w.calls > w.size or w.head < 0 or w.head >= w.size then return 'bad count window' end
  elseif w.type == 'TIME' then
    for _, k in ipairs({ 'bucketCalls', 'bucketFailures', 'bucketSlow', 'bucketSlowFailures' }) do
      if type(w[k]) ~= 'table' or #w[k] ~= w.size then return 'bad time window' end
    end
    if type(w.lastSecond) ~= 'number' then return 'bad time window' end
  else
    return 'unknown window type'
  end
  if type(s.leases) ~= 'table' then s.leases = {} end
  if type(s.leaseSeq) ~= 'number' then s.leaseSeq = 0 end
  if type(s.exceededReported) ~= 'boolean' then s.exceededReported = false end
  return nil
end

local s
local resized = false

-- Processes that disagree on the window's shape (a rolling deploy that changed slidingWindowSize)
-- must not wipe each other's state: the window is resized, keeping the newest outcomes.
local function resizedCount(w, size, min)
  local nw = countWindow(size, min)
  local keep = math.min(w.calls, size)
  for k = keep, 1, -1 do
    local i = (w.head - k) % w.size
    recordOutcome(nw, string.byte(w.ring, i + 1) - 48, 0)
  end
  return nw
end

local function resizedTime(w, size, min)
  local nw = timeWindow(size, min, w.lastSecond * 1000)
  for sec = w.lastSecond - math.min(w.size, size) + 1, w.lastSecond do
    local oi, ni = (sec % w.size) + 1, (sec % size) + 1
    nw.bucketCalls[ni] = w.bucketCalls[oi]
    nw.bucketFailures[ni] = w.bucketFailures[oi]
    nw.bucketSlow[ni] = w.bucketSlow[oi]
    nw.bucketSlowFailures[ni] = w.bucketSlowFailures[oi]
    nw.calls = nw.calls + w.bucketCalls[oi]
    nw.failures = nw.failures + w.bucketFailures[oi]
    nw.slow = nw.slow + w.bucketSlow[oi]
    nw.slowFailures = nw.slowFailures + w.bucketSlowFailures[oi]
  end
  return nw
end

local function fitWindow()
  local w = s.window
  if s.state == 'HALF_OPEN' then
    if w.type == 'COUNT' and w.size == permitted then return end
    if w.type == 'COUNT' then s.window = resizedCount(w, permitted, halfOpenMin) else s.window = countWindow(permitted, halfOpenMin) end
    s.halfOpenAvailable = math.max(0, math.min(s.halfOpenAvailable, permitted - s.window.calls))
  elseif s.state ~= 'OPEN' then
    if (windowType == 'COUNT') == (w.type == 'COUNT') and w.size == windowSize then return end
    if windowType == 'COUNT' and w.type == 'COUNT' then s.window = resizedCount(w, windowSize, closedMin)
    elseif windowType == 'TIME' and w.type == 'TIME' then s.window = resizedTime(w, windowSize, closedMin)
    else s.window = closedWindow(now) end
  else
    return
  end
  resized = true
end

local key = KEYS[1]
local raw = redis.pcall('GET', key)
if type(raw) == 'table' and raw.err then
  garbage = 'the key holds a ' .. redis.call('TYPE', key).ok .. ', not a breaker state'
  redis.call('DEL', key)
  s = initial(now)
elseif not raw then
  s = initial(now)
else
  local ok, decoded = pcall(cjson.decode, raw)
  if not ok then
    garbage = 'the key holds text that is not JSON'
    s = initial(now)
  else
    local why = problem(decoded)
    if why then
      garbage = why
      s = initial(now)
    else
      s = decoded
      fitWindow()
      -- the minimum lives in the window; the config is the truth
      if s.state == 'HALF_OPEN' or (s.state == 'OPEN' and s.window.type == 'COUNT' and s.window.size == permitted and not (windowType == 'COUNT' and windowSize == permitted)) then
        s.window.minimumCalls = halfOpenMin
      else
        s.window.minimumCalls = closedMin
      end
    end
  end
end
local dirty = garbage ~= nil or resized

local function push(from, at, reason, untilAt, rates)
  fx.t[#fx.t + 1] = { from = from, to = s.state, at = at, reason = reason, ['until'] = untilAt, counts = countsOf(rates) }
end

local function attemptsSoFar()
  if s.state == 'OPEN' or s.state == 'HALF_OPEN' or s.state == 'FORCED_OPEN' then return s.attempts end
  return 0
end

local function enterOpen(at, reason)
  local from = s.state
  s.attempts = attemptsSoFar() + 1
  s.state = 'OPEN'
  s.generation = s.generation + 1
  s.since = at
  s.openUntil = at + waitFor(s.attempts)
  s.halfOpenAvailable = 0
  s.leases = {}
  push(from, at, reason, s.openUntil, s.window)
end

local function enterHalfOpen(at, reason)
  local from = s.state
  local decided = s.window
  s.attempts = attemptsSoFar()
  s.state = 'HALF_OPEN'
  s.generation = s.generation + 1
  s.since = at
  s.openUntil = 0
  s.halfOpenAvailable = permitted
  s.window = countWindow(permitted, halfOpenMin)
  s.notPermitted = 0
  s.leases = {}
  s.leaseSeq = 0
  local untilAt = 0
  if maxWaitHalfOpen > 0 then untilAt = at + maxWaitHalfOpen end
  push(from, at, reason, untilAt, decided)
end

local function freshClosed(at)
  s.window = closedWindow(at)
  s.attempts = 0
  s.openUntil = 0
  s.halfOpenAvailable = 0
  s.consecutiveFailures = 0
  s.notPermitted = 0
  s.exceededReported = false
  s.leases = {}
end

local function enterClosed(at, reason)
  local from = s.state
  local decided = s.window
  freshClosed(at)
  s.state = 'CLOSED'
  s.generation = s.generation + 1
  s.since = at
  push(from, at, reason, 0, decided)
end

local function enterPassive(target, at)
  local from = s.state
  local decided = s.window
  if target == 'FORCED_OPEN' then s.attempts = attemptsSoFar() + 1 else s.attempts = 0 end
  s.state = target
  s.generation = s.generation + 1
  s.since = at
  s.openUntil = 0
  s.halfOpenAvailable = 0
  s.consecutiveFailures = 0
  s.notPermitted = 0
  s.exceededReported = false
  s.window = closedWindow(at)
  s.leases = {}
  push(from, at, 'MANUAL', 0, decided)
end

local function tick(at)
  for _ = 1, 10000 do
    if s.state == 'OPEN' then
      if not automatic or at < s.openUntil then return end
      enterHalfOpen(s.openUntil, 'WAIT_ELAPSED')
      dirty = true
    elseif s.state == 'HALF_OPEN' then
      if maxWaitHalfOpen <= 0 or at < s.since + maxWaitHalfOpen then return end
      local due = s.since + maxWaitHalfOpen
      if afterWaitTarget == 'OPEN' then enterOpen(due, 'HALF_OPEN_TIMEOUT') else enterClosed(due, 'HALF_OPEN_TIMEOUT') end
      dirty = true
    else
      return
    end
  end
end

local function reportExceeded(w, at)
  if w.calls == 0 or w.calls < w.minimumCalls then return false end
  local failing = failureExceeded(w)
  local slow = slowExceeded(w)
  if failing then fx.x[#fx.x + 1] = { type = 'FAILURE_RATE_EXCEEDED', at = at, counts = countsOf(w) } end
  if slow then fx.x[#fx.x + 1] = { type = 'SLOW_CALL_RATE_EXCEEDED', at = at, counts = countsOf(w) } end
  return failing or slow
end

local function evaluateClosed(at)
  local w = s.window
  if w.calls >= w.minimumCalls and w.calls > 0 and (failureExceeded(w) or slowExceeded(w)) then
    reportExceeded(w, at)
    if failureExceeded(w) then enterOpen(at, 'FAILURE_RATE') else enterOpen(at, 'SLOW_CALL_RATE') end
    return
  end
  if failureCountThreshold > 0 and w.failures >= failureCountThreshold then
    enterOpen(at, 'FAILURE_COUNT')
  elseif consecutiveThreshold > 0 and s.consecutiveFailures >= consecutiveThreshold then
    enterOpen(at, 'CONSECUTIVE_FAILURES')
  end
end

local function evaluateHalfOpen(outcome, at)
  local w = s.window
  if halfOpenPolicy == 'successes' then
    if outcome % 2 == 1 then enterOpen(at, 'HALF_OPEN_FAILURE')
    elseif w.calls - w.failures >= successThreshold then enterClosed(at, 'HALF_OPEN_PASSED') end
    return
  end
  if w.calls < w.minimumCalls then return end
  if reportExceeded(w, at) then
    if failureExceeded(w) then enterOpen(at, 'FAILURE_RATE') else enterOpen(at, 'SLOW_CALL_RATE') end
  else
    enterClosed(at, 'HALF_OPEN_PASSED')
  end
end

-- leases (Redis only): a probe whose process died comes back after leaseMs
local function reclaimLeases(at)
  for id, expires in pairs(s.leases) do
    if expires <= at then
      s.leases[id] = nil
      if s.halfOpenAvailable < permitted then s.halfOpenAvailable = s.halfOpenAvailable + 1 end
      dirty = true
    end
  end
end

-- Removes the lease of a permit; false when it is gone (reclaimed). The manual API carries no
-- lease (0): its results count as in the reference, and its permits lapse when their lease does.
local function dropLease(lease)
  if lease == 0 then return true end
  local id = tostring(lease)
  if s.leases[id] == nil then return false end
  s.leases[id] = nil
  return true
end

-- A probe's lease number comes from the instant it is taken (in µs, modulo the lease span), not
-- from a counter: a replica promoted after it fell behind replays the counter, and a probe admitted
-- on the old master would then hold the number of a new one (its outcome would take the new
-- probe's place). Numbers still held are skipped.
local function takeProbe(at)
  reclaimLeases(at)
  if s.halfOpenAvailable > 0 then
    s.halfOpenAvailable = s.halfOpenAvailable - 1
    local id = (nowMicros % MAX_LEASE) + 1
    while s.leases[tostring(id)] ~= nil do id = (id % MAX_LEASE) + 1 end
    s.leaseSeq = id
    s.leases[tostring(id)] = at + leaseMs
    return { s.generation, id }
  end
  s.notPermitted = s.notPermitted + 1
  return { DENIED_HALF_OPEN }
end

local function acquire(at)
  if s.state == 'CLOSED' or s.state == 'DISABLED' or s.state == 'METRICS_ONLY' then return { s.generation, 0 } end
  tick(at)
  dirty = true
  if s.state == 'OPEN' then
    if at < s.openUntil then
      s.notPermitted = s.notPermitted + 1
      return { DENIED_OPEN }
    end
    enterHalfOpen(at, 'WAIT_ELAPSED')
    return takeProbe(at)
  elseif s.state == 'HALF_OPEN' then
    return takeProbe(at)
  elseif s.state == 'FORCED_OPEN' then
    s.notPermitted = s.notPermitted + 1
    return { DENIED_FORCED_OPEN }
  end
  return { s.generation, 0 }
end

local function record(gen, lease, outcome, at)
  if s.state ~= 'CLOSED' then tick(at) end
  -- CLOSED_PERIOD: an outcome decided in-process by a process that never read this state: it
  -- counts for whichever CLOSED period is current, and for nothing in another state.
  if gen == CLOSED_PERIOD then
    if s.state ~= 'CLOSED' then return 0 end
  elseif gen ~= CURRENT and gen ~= s.generation then
    return 0
  end
  local st = s.state
  if st == 'HALF_OPEN' and not dropLease(lease) then return 0 end
  dirty = true
  if st == 'CLOSED' then
    local w = s.window
    local before = w.calls
    recordOutcome(w, outcome, at)
    if outcome % 2 == 1 then s.consecutiveFailures = s.consecutiveFailures + 1 else s.consecutiveFailures = 0 end
    if outcome ~= 0 or w.type == 'TIME' or (before < w.minimumCalls and w.calls >= w.minimumCalls) then
      evaluateClosed(at)
    end
    return 1
  elseif st == 'HALF_OPEN' then
    recordOutcome(s.window, outcome, at)
    evaluateHalfOpen(outcome, at)
    return 1
  elseif st == 'METRICS_ONLY' then
    recordOutcome(s.window, outcome, at)
    if not s.exceededReported and reportExceeded(s.window, at) then s.exceededReported = true end
    return 1
  elseif st == 'OPEN' then
    recordOutcome(s.window, outcome, at)
    return 1
  end
  return 0
end

local function release(gen, lease, at)
  if s.state ~= 'CLOSED' then tick(at) end
  if gen ~= CURRENT and gen ~= s.generation then return end
  if s.state == 'HALF_OPEN' and dropLease(lease) and s.halfOpenAvailable < permitted then
    s.halfOpenAvailable = s.halfOpenAvailable + 1
    dirty = true
  end
end

-- A trip the in-process fallback of some process decided while it could not reach Redis: it opens
-- the breaker if the state is still the CLOSED period it was decided in (carryTripIn in core).
local TRIPS = { FAILURE_RATE = true, SLOW_CALL_RATE = true, FAILURE_COUNT = true, CONSECUTIVE_FAILURES = true }

local function carryTrip(gen, reason, at)
  if s.state ~= 'CLOSED' or (gen ~= s.generation and gen ~= CLOSED_PERIOD) or not TRIPS[reason] then return 0 end
  dirty = true
  enterOpen(at, reason)
  return 1
end

local LEGAL = {
  CLOSED = { OPEN = true, DISABLED = true, METRICS_ONLY = true, FORCED_OPEN = true },
  HALF_OPEN = { CLOSED = true, OPEN = true, DISABLED = true, METRICS_ONLY = true, FORCED_OPEN = true },
  OPEN = { CLOSED = true, HALF_OPEN = true, DISABLED = true, METRICS_ONLY = true, FORCED_OPEN = true },
  FORCED_OPEN = { CLOSED = true, OPEN = true, DISABLED = true, METRICS_ONLY = true, HALF_OPEN = true },
  DISABLED = { CLOSED = true, OPEN = true, FORCED_OPEN = true, HALF_OPEN = true, METRICS_ONLY = true },
  METRICS_ONLY = { CLOSED = true, FORCED_OPEN = true, DISABLED = true },
}

local function transition(target, at)
  tick(at)
  if target == 'RESET' then
    dirty = true
    if s.state ~= 'CLOSED' then
      enterClosed(at, 'RESET')
    else
      freshClosed(at)
      s.generation = s.generation + 1
      s.since = at
    end
    fx.z = true
    return 1
  end
  if target == s.state then return 1 end
  if not LEGAL[s.state][target] then return 0 end
  dirty = true
  if target == 'OPEN' then enterOpen(at, 'MANUAL')
  elseif target == 'HALF_OPEN' then enterHalfOpen(at, 'MANUAL')
  elseif target == 'CLOSED' then enterClosed(at, 'MANUAL')
  else enterPassive(target, at) end
  return 1
end

local function nextDue()
  if s.state == 'OPEN' then
    if automatic then return s.openUntil end
    return 0
  end
  if s.state == 'HALF_OPEN' and maxWaitHalfOpen > 0 then return s.since + maxWaitHalfOpen end
  return 0
end

-- The document, always in the key order of DOCUMENT_FIELDS (the fast path at the top reads it with
-- patterns generated from the same list); to cjson it is the same document as ever, so a version
-- that decodes it whole reads it unchanged. The arguments that shaped the state travel with it
-- (`cfg`, ARGV[2] as sent: the origin left out, so that every process with the same config writes
-- the same one), so that operators' tools (the CLI) can run the same script on a breaker whose
-- config they do not know. Defines `encodeDocument(s, cfgJson)`.
--- @generated "breaker-document"

-- run the batch --------------------------------------------------------------

local results = {}
local view = nil
for i = 1, #OPS, 4 do
  local op = OPS[i]
  if op == 'A' then
    results[#results + 1] = acquire(now)
  elseif op == 'R' then
    results[#results + 1] = record(tonumber(OPS[i + 1]), tonumber(OPS[i + 2]), tonumber(OPS[i + 3]), now)
  elseif op == 'L' then
    release(tonumber(OPS[i + 1]), tonumber(OPS[i + 2]), now)
    results[#results + 1] = 0
  elseif op == 'T' then
    results[#results + 1] = transition(OPS[i + 1], now)
  elseif op == 'O' then
    results[#results + 1] = carryTrip(tonumber(OPS[i + 1]), OPS[i + 2], now)
  else
    tick(now)
    if s.window.type == 'TIME' then
      -- the in-process engine keeps the advanced window; so must we, or later rates differ
      local before = s.window.lastSecond
      advance(s.window, now)
      if s.window.lastSecond ~= before then dirty = true end
    end
    view = { state = s.state, counts = countsOf(s.window), notPermitted = s.notPermitted, due = nextDue() }
    results[#results + 1] = 0
  end
end

if dirty then
  redis.call('SET', key, encodeDocument(s, A[2]), 'PX', ttlMs)
elseif renew then
  redis.call('PEXPIRE', key, ttlMs)
end
if #fx.t > 0 and channel ~= '' then
  redis.call('PUBLISH', channel, cjson.encode({ kind = 'circuitbreaker', name = name, origin = origin, transitions = fx.t }))
end
return cjson.encode({ r = results, t = fx.t, x = fx.x, z = fx.z, v = view, g = garbage, now = now, n = s.generation, s = s.state, u = s.openUntil })
