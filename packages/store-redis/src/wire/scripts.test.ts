import { describe, expect, it } from 'vitest';
import { BREAKER_CONFIG } from './breaker-config.js';
import {
  assembleScript,
  BREAKER_SCRIPT,
  BULKHEAD_SCRIPT,
  PROBE_SCRIPT,
  RATE_LIMITER_SCRIPT,
} from './scripts.js';

const SCRIPTS = [BREAKER_SCRIPT, RATE_LIMITER_SCRIPT, BULKHEAD_SCRIPT, PROBE_SCRIPT];

describe('the scripts as RedisStore registers them', () => {
  it('have every include and generated part resolved, under their own command names', () => {
    expect(new Set(SCRIPTS.map((s) => s.name)).size).toBe(SCRIPTS.length);
    for (const script of SCRIPTS) expect(script.lua).not.toMatch(/--- @/);
    for (const script of [BREAKER_SCRIPT, RATE_LIMITER_SCRIPT, BULKHEAD_SCRIPT]) {
      expect(script.lua).toContain("if A[1] ~= '' then"); // the clock preamble
    }
  });

  it('read the arguments the tables declare, into locals of their names', () => {
    expect(RATE_LIMITER_SCRIPT.lua).toContain('local algorithm = ARGV[2]\nlocal limit = tonumber(ARGV[3])');
    expect(RATE_LIMITER_SCRIPT.lua).toContain('local FIRST_OP = 6');
    expect(BULKHEAD_SCRIPT.lua).toContain(
      'local channel = ARGV[4]\nlocal fixedTtl = ARGV[5]\nlocal FIRST_OP = 6',
    );
    expect(BREAKER_SCRIPT.lua).toContain(`if #C ~= ${BREAKER_CONFIG.length} then`);
    expect(BREAKER_SCRIPT.lua).toContain('local origin = ARGV[3]');
    expect(BREAKER_SCRIPT.lua).toContain('local waits = {}');
  });

  it('put the fast path first: it answers before the machine is set up', () => {
    const lua = BREAKER_SCRIPT.lua;
    expect(lua.indexOf('STEADY_DOC')).toBeLessThan(lua.indexOf("redis.call('TIME')"));
    expect(lua.indexOf("redis.call('TIME')")).toBeLessThan(lua.indexOf('local function encodeDocument'));
  });

  it('refuse a directive that names nothing', () => {
    expect(() => assembleScript('rate-limiter.lua', {})).toThrow(/no generated part 'rate-limiter-args'/);
  });
});
