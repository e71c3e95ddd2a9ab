/**
 * Small helpers that write Lua from the wire tables (document fields, script arguments), so that
 * what the TypeScript side and the scripts must agree on is written down once.
 */

/** A piece of generated text: literal text, or a Lua expression (in concatenations). */
export type Part = string | { readonly lua: string };

/** A Lua expression, as a part of a concatenation. */
export function lua(expression: string): Part {
  return { lua: expression };
}

/** `text` as a Lua string literal. */
export function luaString(text: string): string {
  return `'${text.replace(/[\\'\n]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`))}'`;
}

/**
 * `"field":<part>` for each of `fields` from `from` to `to` (both included), comma-separated: one
 * stretch of a JSON object in the fields' order. Every field of the stretch must have its part.
 */
export function jsonFields<F extends string>(
  fields: readonly F[],
  parts: Partial<Record<F, Part | readonly Part[]>>,
  from: F,
  to: F,
): Part[] {
  const start = fields.indexOf(from);
  const end = fields.indexOf(to);
  if (start < 0 || end < start) throw new Error(`no stretch ${from}..${to} in ${fields.join(', ')}`);
  const out: Part[] = [];
  for (const field of fields.slice(start, end + 1)) {
    const part = parts[field];
    if (part === undefined) throw new Error(`no part for the field '${field}'`);
    out.push(`${out.length === 0 ? '' : ','}"${field}":`);
    if (Array.isArray(part)) out.push(...(part as readonly Part[]));
    else out.push(part as Part);
  }
  return out;
}

/** The parts (all literal pattern text) as one anchored Lua pattern, a string literal. */
export function luaPattern(parts: readonly Part[], { toEnd = false } = {}): string {
  let text = '^';
  for (const part of parts) {
    if (typeof part !== 'string') throw new Error(`a pattern holds no Lua expression (${part.lua})`);
    text += part;
  }
  return luaString(toEnd ? `${text}$` : text);
}

/** The parts as one Lua concatenation: literal text quoted, expressions as they are. */
export function luaConcat(parts: readonly Part[]): string {
  const terms: string[] = [];
  let literal = '';
  for (const part of parts) {
    if (typeof part === 'string') {
      literal += part;
      continue;
    }
    if (literal !== '') terms.push(luaString(literal));
    literal = '';
    terms.push(part.lua);
  }
  if (literal !== '' || terms.length === 0) terms.push(luaString(literal));
  return terms.join(' .. ');
}
