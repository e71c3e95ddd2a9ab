import { LUA_NOW } from './lua-clock.js';

/**
 * The circuit breaker's state machine in Lua: a line-by-line port of `circuit-breaker-machine.ts`
 * in @breakwater/core (keep them in step; `test/conformance` runs both on the same command
 * sequences). One call runs a batch of operations atomically on one breaker's state, a JSON
 * document in the shape of `BreakerState`, plus the probe leases Redis needs because processes
 * die: a half-open permit is a lease that is reclaimed when it expires.
 *
 * KEYS[1]  the state key
 * ARGV     either spread: the arguments BREAKER_ARGS names, one each (what tools such as the CLI
 *          send), then the operations, four arguments each:
 *          A (acquire) | R gen lease outcome (record) | L gen lease (release) | T target | G (read)
 *          | O gen reason (carry a trip decided in-process while Redis was away);
 *          or packed (what RedisStore sends, four arguments in all): ARGV[1] now, ARGV[2] the
 *          config arguments (BREAKER_ARGS after \`now\`) joined by newlines with \`origin\` left
 *          empty, as a JSON string, ARGV[3] the origin, ARGV[4] the operations in one string,
 *          space-separated, each its letter and its arguments comma-separated (\`A\`,
 *          \`R<gen>,<lease>,<outcome>\`, \`L<gen>,<lease>\`, \`T<target>\`, \`G\`, \`O<gen>,<reason>\`), plus \`E\`, always
 *          last: renew the key's expiry even if nothing is written (RedisStore sends it at most once a
 *          second). A leading \`+\` says the batch holds only acquires, successes (outcome 0) and E.
 * Stored   one JSON document (\`BreakerState\` plus leases), always written in one key order,
 *          hot fields first (see \`writeDoc\`), so that the fast path can read and rewrite it with
 *          string operations; any other order (older versions wrote cjson's) is read as before.
 *          It keeps the config arguments as \`cfg\` (joined by newlines, origin left empty) for
 *          tools that force a breaker. A count window's ring is a string of outcome digits.
 * Returns  a JSON reply (numbers in JSON, so counts come back and rates are computed by the caller
 *          exactly as the in-process engine does), ending with the state and generation the batch
 *          left (\`s\`, \`n\`), or from the fast path the generation alone (the state is CLOSED).
 */
export const BREAKER_ARGS = [
  'now', // '' = Redis TIME; a number = the caller's clock (tests)
  'ttlMs',
  'windowType',
  'windowSize',
  'closedMin',
  'halfOpenMin',
  'failureRateThreshold',
  'slowCallRateThreshold',
  'permitted',
  'maxWaitHalfOpen',
  'afterWaitTarget',
  'automatic',
  'failureCountThreshold',
  'consecutiveThreshold',
  'halfOpenPolicy',
  'successThreshold',
  'leaseMs',
  'channel',
  'name',
  'origin',
  'waits',
] as const;

/**
 * The hot case, before any of the machine is set up: a batch of acquires and success records on a
 * CLOSED breaker with a COUNT window of the configured size, where the reference evaluates nothing
 * (a success only needs evaluating when it brings the window to its minimum). It reads and writes
 * the document with string operations only, and checks it against the exact shape the machine
 * writes (\`writeDoc\` below): anything else (another state, a failure, a stale or unknown permit,
 * the call that reaches the minimum, another config, a document written by an older version,
 * garbage, the spread layout) falls through to the full machine, untouched. It answers with the
 * generation alone (an integer): every acquire of the batch is granted in it, every result is
 * recorded, nothing else happened. A full window of successes is not rewritten at all: that batch
 * only reads (GET), unless it asks for its expiry to be renewed (E: PEXPIRE), and its document is
 * checked only as far as its config, since nothing past it bears on the answer; a spoiled rest is
 * found by the next write, which goes through a check of the whole document. Pattern matching
 * costs about 10 ns a character on the server: the patterns skip what a plain find can check (the
 * config) and capture only what the case needs.
 */
const FAST_PATH_LUA = `
do
  local A = ARGV
  local conf, ops = A[2], A[4]
  local key = KEYS[1]
  local raw = #A == 4 and redis.pcall('GET', key)
  if type(raw) == 'string' then
    -- Steady: a full window of fast successes, no failure streak, this config. A success changes
    -- nothing in it (as in recordOutcome: only where the ring starts would move, which nothing can
    -- observe), so the batch only reads: the document is checked up to its config, which fixes the
    -- window's size; the rest (timestamps and leases, which a CLOSED breaker does not read) is
    -- checked by whatever writes the document next.
    local gen, size, calls, ringAt, ringEnd, cfgAt = string.match(raw,
      '^{"v":1,"state":"CLOSED","generation":(%d+),"consecutiveFailures":0,"window":{"type":"COUNT","size":(%d+),"calls":(%d+),"failures":0,"slow":0,"slowFailures":0,"head":%d+,"minimumCalls":%d+,"ring":"()0*()"},"cfg":()')
    if gen ~= nil and calls == size and ringEnd - ringAt == size + 0 and string.find(raw, conf, cfgAt, true) == cfgAt then
      -- A batch marked + holds only acquires (A, granted in this generation), successes (a success
      -- of any generation leaves this window as it is, recorded or not) and E, last: no operation
      -- needs reading. (Every call into C counts here, hence the arithmetic instead of tonumber.)
      if string.byte(ops, 1) == 43 then
        if string.byte(ops, -1) == 69 then redis.call('PEXPIRE', key, string.match(conf, '^"(%d+)')) end
        return gen + 0
      end
    else
      -- Any other CLOSED count window of this config: checked whole, as the machine writes it.
      local ttl, csize, minimum = string.match(conf, '^"(%d+)\\\\nCOUNT\\\\n(%d+)\\\\n(%d+)\\\\n')
      local consecutive, fl, sl, sf, head, ring
      gen, consecutive, size, calls, fl, sl, sf, head, ring, cfgAt = string.match(raw,
        '^{"v":1,"state":"CLOSED","generation":(%d+),"consecutiveFailures":(%d+),"window":{"type":"COUNT","size":(%d+),"calls":(%d+),"failures":(%d+),"slow":(%d+),"slowFailures":(%d+),"head":(%d+),"minimumCalls":%d+,"ring":"([0-3]*)"},"cfg":()')
      local w, c, h = tonumber(size), tonumber(calls), tonumber(head)
      minimum = tonumber(minimum)
      if gen and ttl and size == csize and #ring == w and c <= w and h < w and
        string.find(raw, conf, cfgAt, true) == cfgAt and
        string.find(raw, '^,"since":%d+,"openUntil":%d+,"attempts":%d+,"halfOpenAvailable":%d+,"notPermitted":%d+,"exceededReported":false,"leaseSeq":%d+,"leases":{}}$', cfgAt + #conf) then
        local recorded, renew = false, false
        local n, pos = #ops, string.byte(ops, 1) == 43 and 2 or 1
        while pos <= n do
          local code, nxt = string.byte(ops, pos), pos + 1
          if code == 82 then
            -- R<gen>,<lease>,0: a success of this generation (or of the current one, -1)
            local g, e = string.match(ops, '^(%-?%d+),%d+,0()', nxt)
            if g ~= gen and g ~= '-1' then break end
            if c < w then
              if c < minimum and c + 1 >= minimum then break end -- the reference evaluates here
              c = c + 1
            else
              local old = string.byte(ring, h + 1) - 48
              if old ~= 0 then
                local oldFailure = old % 2
                local oldSlow = math.floor(old / 2)
                fl = fl - oldFailure
                sl = sl - oldSlow
                sf = sf - oldFailure * oldSlow
              end
            end
            if string.byte(ring, h + 1) ~= 48 then ring = string.sub(ring, 1, h) .. '0' .. string.sub(ring, h + 2) end
            if h + 1 == w then h = 0 else h = h + 1 end
            recorded = true
            nxt = e
          elseif code == 69 then
            renew = true -- E: renew the expiry
          elseif code ~= 65 then
            break -- not an acquire (A: granted; the reply, the generation, says so)
          end
          local sep = string.byte(ops, nxt)
          if sep ~= 32 and sep ~= nil then break end
          pos = nxt + 1
        end
        if pos > n then
          if recorded then
            redis.call('SET', key, '{"v":1,"state":"CLOSED","generation":' .. gen ..
              ',"consecutiveFailures":0,"window":{"type":"COUNT","size":' .. size .. ',"calls":' .. c ..
              ',"failures":' .. fl .. ',"slow":' .. sl .. ',"slowFailures":' .. sf .. ',"head":' .. h ..
              ',"minimumCalls":' .. minimum .. ',"ring":"' .. ring .. '"},"cfg":' .. string.sub(raw, cfgAt), 'PX', ttl)
          elseif renew then
            redis.call('PEXPIRE', key, ttl)
          end
          return tonumber(gen)
        end
      end
    end
  end
end`;

export const BREAKER_LUA = `${FAST_PATH_LUA}
${LUA_NOW}
local packedCfg = nil
local renew = false
if string.byte(A[2], 1) == 34 then
  -- the packed layout: ARGV[2] holds the config as the document stores it (a JSON string), ARGV[3] the origin
  local ok, conf = pcall(cjson.decode, A[2])
  if not ok or type(conf) ~= 'string' then return redis.error_reply('breakwater: bad config argument') end
  local t = { A[1] }
  for part in string.gmatch(conf .. '\\n', '([^\\n]*)\\n') do t[#t + 1] = part end
  if #t ~= 21 then return redis.error_reply('breakwater: bad config argument') end
  t[20] = A[3]
  -- ARGV[4]: the operations, space-separated, each its letter then its arguments, comma-separated,
  -- after an optional + (the batch's summary, for the fast path)
  for op in string.gmatch(string.match(A[4] or '', '^%+?(.*)'), '%S+') do
    local code, a, b, c = string.match(op, '^(%u)([^,]*),?([^,]*),?([^,]*)$')
    if not code then return redis.error_reply('breakwater: bad operation ' .. op) end
    if code == 'E' then
      renew = true
    else
      t[#t + 1] = code; t[#t + 1] = a; t[#t + 1] = b ~= '' and b or '0'; t[#t + 1] = c ~= '' and c or '0'
    end
  end
  A = t
  packedCfg = ARGV[2]
end
local ttl = tonumber(A[2])
local wtype = A[3]
local wsize = tonumber(A[4])
local closedMin = tonumber(A[5])
local halfOpenMin = tonumber(A[6])
local frThreshold = tonumber(A[7])
local srThreshold = tonumber(A[8])
local permitted = tonumber(A[9])
local maxWait = tonumber(A[10])
local afterWait = A[11]
local automatic = A[12] == '1'
local countThreshold = tonumber(A[13])
local consecutiveThreshold = tonumber(A[14])
local policy = A[15]
local successThreshold = tonumber(A[16])
local leaseMs = tonumber(A[17])
local channel = A[18]
local name = A[19]
local origin = A[20]
local waits = {}
for w in string.gmatch(A[21], '[^,]+') do waits[#waits + 1] = tonumber(w) end
local FIRST_OP = 22

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
  if wtype == 'COUNT' then return countWindow(wsize, closedMin) end
  return timeWindow(wsize, closedMin, at)
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
    w.bucketCalls[i] = w.bucketCalls[i] + 1
    w.calls = w.calls + 1
    if failure == 1 then
      w.bucketFailures[i] = w.bucketFailures[i] + 1
      w.failures = w.failures + 1
    end
    if slow == 1 then
      w.bucketSlow[i] = w.bucketSlow[i] + 1
      w.slow = w.slow + 1
      if slowFailure == 1 then
        w.bucketSlowFailures[i] = w.bucketSlowFailures[i] + 1
        w.slowFailures = w.slowFailures + 1
      end
    end
  end
end

local function countsOf(w)
  return { w.calls, w.failures, w.slow, w.slowFailures, w.minimumCalls }
end

local function failureExceeded(w) return w.failures * 100 >= frThreshold * w.calls end
local function slowExceeded(w) return w.slow * 100 >= srThreshold * w.calls end

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
    if (wtype == 'COUNT') == (w.type == 'COUNT') and w.size == wsize then return end
    if wtype == 'COUNT' and w.type == 'COUNT' then s.window = resizedCount(w, wsize, closedMin)
    elseif wtype == 'TIME' and w.type == 'TIME' then s.window = resizedTime(w, wsize, closedMin)
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
      if s.state == 'HALF_OPEN' or (s.state == 'OPEN' and s.window.type == 'COUNT' and s.window.size == permitted and not (wtype == 'COUNT' and wsize == permitted)) then
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
  if maxWait > 0 then untilAt = at + maxWait end
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
      if maxWait <= 0 or at < s.since + maxWait then return end
      local due = s.since + maxWait
      if afterWait == 'OPEN' then enterOpen(due, 'HALF_OPEN_TIMEOUT') else enterClosed(due, 'HALF_OPEN_TIMEOUT') end
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
  if countThreshold > 0 and w.failures >= countThreshold then
    enterOpen(at, 'FAILURE_COUNT')
  elseif consecutiveThreshold > 0 and s.consecutiveFailures >= consecutiveThreshold then
    enterOpen(at, 'CONSECUTIVE_FAILURES')
  end
end

local function evaluateHalfOpen(outcome, at)
  local w = s.window
  if policy == 'successes' then
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
    local id = (nowMicros % 2097151) + 1
    while s.leases[tostring(id)] ~= nil do id = (id % 2097151) + 1 end
    s.leaseSeq = id
    s.leases[tostring(id)] = at + leaseMs
    return { s.generation, id }
  end
  s.notPermitted = s.notPermitted + 1
  return { -2 }
end

local CURRENT = -1

local function acquire(at)
  if s.state == 'CLOSED' or s.state == 'DISABLED' or s.state == 'METRICS_ONLY' then return { s.generation, 0 } end
  tick(at)
  dirty = true
  if s.state == 'OPEN' then
    if at < s.openUntil then
      s.notPermitted = s.notPermitted + 1
      return { -1 }
    end
    enterHalfOpen(at, 'WAIT_ELAPSED')
    return takeProbe(at)
  elseif s.state == 'HALF_OPEN' then
    return takeProbe(at)
  elseif s.state == 'FORCED_OPEN' then
    s.notPermitted = s.notPermitted + 1
    return { -3 }
  end
  return { s.generation, 0 }
end

local function record(gen, lease, outcome, at)
  if s.state ~= 'CLOSED' then tick(at) end
  if gen ~= CURRENT and gen ~= s.generation then return 0 end
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
  if s.state ~= 'CLOSED' or gen ~= s.generation or not TRIPS[reason] then return 0 end
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
  if s.state == 'HALF_OPEN' and maxWait > 0 then return s.since + maxWait end
  return 0
end

-- The document, always in this key order (the fast path at the top reads it with patterns); to
-- cjson it is the same document as ever, so a version that decodes it whole reads it unchanged.
-- The arguments that shaped the state travel with it (\`cfg\`, the origin left out, so that every
-- process with the same config writes the same one), so that operators' tools (the CLI) can run
-- the same script on a breaker whose config they do not know.
local function writeDoc()
  local cfgJson = packedCfg
  if not cfgJson then
    local cfg = {}
    for j = 2, FIRST_OP - 1 do cfg[#cfg + 1] = A[j] end
    cfg[19] = ''
    cfgJson = cjson.encode(table.concat(cfg, '\\n'))
  end
  local w = s.window
  local window
  if w.type == 'COUNT' then
    window = '{"type":"COUNT","size":' .. tostring(w.size) .. ',"calls":' .. tostring(w.calls) .. ',"failures":' ..
      tostring(w.failures) .. ',"slow":' .. tostring(w.slow) .. ',"slowFailures":' .. tostring(w.slowFailures) ..
      ',"head":' .. tostring(w.head) .. ',"minimumCalls":' .. tostring(w.minimumCalls) .. ',"ring":' .. cjson.encode(w.ring) .. '}'
  else
    window = cjson.encode(w)
  end
  return '{"v":1,"state":' .. cjson.encode(s.state) .. ',"generation":' .. tostring(s.generation) ..
    ',"consecutiveFailures":' .. tostring(s.consecutiveFailures) .. ',"window":' .. window ..
    ',"cfg":' .. cfgJson .. ',"since":' .. tostring(s.since) ..
    ',"openUntil":' .. tostring(s.openUntil) .. ',"attempts":' .. tostring(s.attempts) ..
    ',"halfOpenAvailable":' .. tostring(s.halfOpenAvailable) .. ',"notPermitted":' .. tostring(s.notPermitted) ..
    ',"exceededReported":' .. tostring(s.exceededReported) .. ',"leaseSeq":' .. tostring(s.leaseSeq) ..
    ',"leases":' .. cjson.encode(s.leases) .. '}'
end

-- run the batch --------------------------------------------------------------

local results = {}
local view = nil
local i = FIRST_OP
while i <= #A do
  local op = A[i]
  if op == 'A' then
    results[#results + 1] = acquire(now)
  elseif op == 'R' then
    results[#results + 1] = record(tonumber(A[i + 1]), tonumber(A[i + 2]), tonumber(A[i + 3]), now)
  elseif op == 'L' then
    release(tonumber(A[i + 1]), tonumber(A[i + 2]), now)
    results[#results + 1] = 0
  elseif op == 'T' then
    results[#results + 1] = transition(A[i + 1], now)
  elseif op == 'O' then
    results[#results + 1] = carryTrip(tonumber(A[i + 1]), A[i + 2], now)
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
  i = i + 4
end

if dirty then
  redis.call('SET', key, writeDoc(), 'PX', ttl)
elseif renew then
  redis.call('PEXPIRE', key, ttl)
end
if #fx.t > 0 and channel ~= '' then
  redis.call('PUBLISH', channel, cjson.encode({ kind = 'circuitbreaker', name = name, origin = origin, transitions = fx.t }))
end
return cjson.encode({ r = results, t = fx.t, x = fx.x, z = fx.z, v = view, g = garbage, now = now, n = s.generation, s = s.state })
`;
