/**
 * Scripts' arguments by name. Each script's arguments are declared once, in a table (their names,
 * in their wire order, and how the script reads each); the engines build the values by name, and
 * the Lua that reads them into locals of the same names is generated from the same table
 * (`luaArgReader`), so that no position is kept in step by hand on either side.
 */

/** How a script reads an argument: a number, text, a flag (`'1'` or not), or comma-separated numbers. */
export type LuaArgType = 'number' | 'string' | 'flag' | 'numbers';

export interface ScriptArg {
  /** The argument's name, and the name of the Lua local that holds it. */
  readonly name: string;
  readonly type: LuaArgType;
}

/** The values of a table's arguments, by name. */
export type ArgValues<T extends readonly ScriptArg[]> = {
  readonly [K in T[number]['name']]: string | number;
};

/** The values in the table's order. */
export function argList<T extends readonly ScriptArg[]>(table: T, values: ArgValues<T>): (string | number)[] {
  const byName = values as Readonly<Record<string, string | number>>;
  return table.map((arg) => {
    const value = byName[arg.name];
    if (value === undefined) throw new Error(`no value for the script argument '${arg.name}'`);
    return value;
  });
}

/**
 * Lua that reads each argument into a local of its name; `source(arg, i)` is the Lua expression of
 * the i-th argument's text (1-based, in the table's order).
 */
export function luaArgReader(
  table: readonly ScriptArg[],
  source: (arg: ScriptArg, i: number) => string,
): string {
  return table
    .map((arg, i) => {
      const text = source(arg, i + 1);
      switch (arg.type) {
        case 'number':
          return `local ${arg.name} = tonumber(${text})`;
        case 'flag':
          return `local ${arg.name} = ${text} == '1'`;
        case 'numbers':
          return `local ${arg.name} = {}\nfor v in string.gmatch(${text}, '[^,]+') do ${arg.name}[#${arg.name} + 1] = tonumber(v) end`;
        default:
          return `local ${arg.name} = ${text}`;
      }
    })
    .join('\n');
}

/**
 * A script whose arguments come one per ARGV entry after `now` (ARGV[1]), then its operations:
 * the reader, and `FIRST_OP`, the index of the first operation's entry.
 */
export function luaArgvReader(table: readonly ScriptArg[]): string {
  return `${luaArgReader(table, (_, i) => `ARGV[${i + 1}]`)}\nlocal FIRST_OP = ${table.length + 2}`;
}

/** The rate limiter script's arguments after `now` (`rate-limiter.lua`). */
export const RATE_LIMITER_ARGS = [
  /** 'F' (fixed window) or 'G' (GCRA). */
  { name: 'algorithm', type: 'string' },
  /** limitForPeriod. */
  { name: 'limit', type: 'number' },
  /** limitRefreshPeriod (ms). */
  { name: 'period', type: 'number' },
  /** The key's expiry (ms) under the caller's clock; '' = when its state is fresh again (Redis clock). */
  { name: 'fixedTtl', type: 'string' },
] as const satisfies readonly ScriptArg[];

/** The bulkhead script's arguments after `now` (`bulkhead.lua`). */
export const BULKHEAD_ARGS = [
  /** maxConcurrentCalls. */
  { name: 'max', type: 'number' },
  /** How long a slot's lease lasts unless renewed (ms). */
  { name: 'leaseMs', type: 'number' },
  /** Where releases publish a notice for waiting processes. */
  { name: 'channel', type: 'string' },
  /** The set's expiry (ms) under the caller's clock; '' = when its latest lease runs out (Redis clock). */
  { name: 'fixedTtl', type: 'string' },
] as const satisfies readonly ScriptArg[];
