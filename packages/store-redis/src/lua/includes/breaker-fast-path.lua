-- The hot case, before any of the machine is set up: a batch of acquires and success records on a
-- CLOSED breaker with a COUNT window of the configured size, where the reference evaluates nothing
-- (a success only needs evaluating when it brings the window to its minimum). It reads and writes
-- the document with string operations only, and checks it against the exact shape the machine
-- writes (`encodeDocument`): anything else (another state, a failure, a stale or unknown permit,
-- the call that reaches the minimum, another config, a document written by an older version,
-- garbage) falls through to the full machine, untouched. It answers with the generation alone (an
-- integer): every acquire of the batch is granted in it, every result is recorded, nothing else
-- happened. A full window of successes is not rewritten at all: that batch only reads (GET),
-- unless it asks for its expiry to be renewed (E: PEXPIRE), and its document is checked only as far
-- as its config, since nothing past it bears on the answer; a spoiled rest is found by the next
-- write, which goes through a check of the whole document. Pattern matching costs about 10 ns a
-- character on the server: the patterns skip what a plain find can check (the config) and capture
-- only what the case needs.
--
-- The patterns and the document head it writes are generated from the document's field list
-- (wire/breaker-document.ts), as `encodeDocument` is, so that the two cannot drift apart.
do
  --- @generated "breaker-fast-path-shapes"
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
    local gen, size, calls, ringAt, ringEnd, cfgAt = string.match(raw, STEADY_DOC)
    if gen ~= nil and calls == size and ringEnd - ringAt == size + 0 and string.find(raw, conf, cfgAt, true) == cfgAt then
      -- A batch marked + holds only acquires (A, granted in this generation), successes (a success
      -- of any generation leaves this window as it is, recorded or not) and E, last: no operation
      -- needs reading. (Every call into C counts here, hence the arithmetic instead of tonumber.)
      if string.byte(ops, 1) == 43 then
        if string.byte(ops, -1) == 69 then redis.call('PEXPIRE', key, string.match(conf, CONFIG_TTL)) end
        return gen + 0
      end
    else
      -- Any other CLOSED count window of this config: checked whole, as the machine writes it.
      local ttl, csize, minimum = string.match(conf, CONFIG_COUNT_WINDOW)
      local consecutive, fl, sl, sf, head, ring
      gen, consecutive, size, calls, fl, sl, sf, head, ring, cfgAt = string.match(raw, CLOSED_COUNT_DOC)
      local w, c, h = tonumber(size), tonumber(calls), tonumber(head)
      minimum = tonumber(minimum)
      if gen and ttl and size == csize and #ring == w and c <= w and h < w and
        string.find(raw, conf, cfgAt, true) == cfgAt and
        string.find(raw, CLOSED_COUNT_REST, cfgAt + #conf) then
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
            redis.call('SET', key,
              closedCountHead(gen, size, c, fl, sl, sf, h, minimum, ring) .. string.sub(raw, cfgAt), 'PX', ttl)
          elseif renew then
            redis.call('PEXPIRE', key, ttl)
          end
          return tonumber(gen)
        end
      end
    end
  end
end
