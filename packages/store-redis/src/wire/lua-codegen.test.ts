import { describe, expect, it } from 'vitest';
import { jsonFields, lua, luaConcat, luaPattern, luaString } from './lua-codegen.js';

const FIELDS = ['a', 'b', 'c', 'd'] as const;

describe('Lua code generation', () => {
  it('quotes text as a Lua string literal', () => {
    expect(luaString(`it's`)).toBe(`'it\\'s'`);
    expect(luaString('a\\nb')).toBe(`'a\\\\nb'`);
    expect(luaString('a\nb')).toBe(`'a\\nb'`);
  });

  it('writes a stretch of an object in the fields’ order, whatever order the parts come in', () => {
    const parts = { d: '4', b: '2', c: lua('x'), a: '1' };
    expect(jsonFields(FIELDS, parts, 'b', 'd')).toEqual(['"b":', '2', ',"c":', { lua: 'x' }, ',"d":', '4']);
    expect(jsonFields(FIELDS, { a: ['{', lua('y'), '}'] }, 'a', 'a')).toEqual([
      '"a":',
      '{',
      { lua: 'y' },
      '}',
    ]);
  });

  it('refuses a stretch with a field left out, or out of order', () => {
    expect(() => jsonFields(FIELDS, { a: '1', c: '3' }, 'a', 'c')).toThrow(/'b'/);
    expect(() => jsonFields(FIELDS, { a: '1' }, 'c', 'a')).toThrow(/no stretch/);
  });

  it('makes anchored patterns of literal parts only', () => {
    expect(luaPattern(['{"a":', '(%d+)'])).toBe(`'^{"a":(%d+)'`);
    expect(luaPattern(['x'], { toEnd: true })).toBe(`'^x$'`);
    expect(() => luaPattern([lua('s.a')])).toThrow(/no Lua expression/);
  });

  it('concatenates literal runs and expressions', () => {
    expect(luaConcat(['{"a":', lua('tostring(s.a)'), ',"b":', '1', '}'])).toBe(
      `'{"a":' .. tostring(s.a) .. ',"b":1}'`,
    );
    expect(luaConcat([lua('x')])).toBe('x');
    expect(luaConcat([])).toBe(`''`);
  });
});
