/**
 * The Lua scripts, as RedisStore registers them (ioredis `defineCommand`: EVALSHA, EVAL once on
 * NOSCRIPT). Their source is in `../lua/*.lua`, read when this module loads (from `src/lua` when
 * the package runs from its sources, from `dist/lua`, a copy made by the build, otherwise), with
 * two kinds of line resolved in the manner of BullMQ's commands:
 * - `--- @include "<name>"`: the text of `lua/includes/<name>.lua`;
 * - `--- @generated "<name>"`: Lua written from the wire tables (`breaker-shapes.ts`,
 *   `script-args.ts`), so that what both sides must agree on is declared once.
 */
import { readFileSync } from 'node:fs';
import { breakerGenerated } from './breaker-shapes.js';
import { BULKHEAD_ARGS, luaArgvReader, RATE_LIMITER_ARGS } from './script-args.js';

/** A script and the command name it is registered under. */
export interface ScriptDefinition {
  readonly name: string;
  readonly lua: string;
}

const LUA_DIR = new URL('../lua/', import.meta.url);
const DIRECTIVE = /^([ \t]*)--- @(include|generated) "([\w-]+)"[ \t]*$/gm;

/** The script in `lua/<file>`, its directives resolved (an include may hold directives of its own). */
export function assembleScript(file: string, generated: Readonly<Record<string, string>>): string {
  const text = readFileSync(new URL(file, LUA_DIR), 'utf8');
  return text.replace(DIRECTIVE, (_, indent: string, kind: string, name: string) => {
    const part =
      kind === 'include'
        ? assembleScript(`includes/${name}.lua`, generated).replace(/\n$/, '')
        : generated[name];
    if (part === undefined) throw new Error(`${file}: no generated part '${name}'`);
    return part.replace(/^(?=.)/gm, indent);
  });
}

/** The circuit breaker (`breaker.lua`). */
export const BREAKER_SCRIPT: ScriptDefinition = {
  name: 'breakwaterBreaker',
  lua: assembleScript('breaker.lua', breakerGenerated()),
};

/** The rate limiter (`rate-limiter.lua`). */
export const RATE_LIMITER_SCRIPT: ScriptDefinition = {
  name: 'breakwaterRateLimiter',
  lua: assembleScript('rate-limiter.lua', { 'rate-limiter-args': luaArgvReader(RATE_LIMITER_ARGS) }),
};

/** The bulkhead (`bulkhead.lua`). */
export const BULKHEAD_SCRIPT: ScriptDefinition = {
  name: 'breakwaterBulkhead',
  lua: assembleScript('bulkhead.lua', { 'bulkhead-args': luaArgvReader(BULKHEAD_ARGS) }),
};

/** The store guard's probe (`probe.lua`). */
export const PROBE_SCRIPT: ScriptDefinition = {
  name: 'breakwaterProbe',
  lua: assembleScript('probe.lua', {}),
};
