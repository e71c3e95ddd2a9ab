/**
 * Mutations that break an invariant on purpose, with no hook in the production code: when the file
 * a mutation names is loaded, one snippet of its source is replaced. A TypeScript module is
 * rewritten by Node loader hooks (module.register: `initialize` and `load` below), as tsx compiled
 * it (whitespace squeezed out); a Lua script, which the store reads with `readFileSync` when its
 * module loads, by `mutateReads` in the worker's own thread. A mutation whose snippet is not found
 * exactly once fails the load, so a refactoring of the target cannot turn the mutation test into a
 * silent no-op.
 */

/** @type {Record<string, { file: string; find: string; replace: string; breaks: string }>} */
const MUTATIONS = {
  // The breaker script grants a half-open probe when none is left: one probe too many.
  'lua-extra-half-open-probe': {
    file: '/packages/store-redis/src/lua/breaker.lua',
    find: 'if s.halfOpenAvailable > 0 then',
    replace: 'if s.halfOpenAvailable > -1 then',
    breaks: 'half-open-probes',
  },
  // The Redis bulkhead engine takes Redis's "full" answer (0) for a granted slot.
  'ts-bulkhead-full-admits': {
    file: '/packages/store-redis/src/redis-bulkhead-engine.ts',
    find: 'if (granted === 1) {',
    replace: 'if (granted >= 0) {',
    breaks: 'bulkhead-concurrency',
  },
};

/** The mutation of that name; throws for a name this file does not know. */
export function mutationNamed(name) {
  const mutation = MUTATIONS[name];
  if (mutation === undefined) throw new Error(`mutation-hooks: unknown mutation ${name}`);
  return mutation;
}

/** True when the mutation's target is a file the store reads (a Lua script), not a module. */
export function targetsRead(mutation) {
  return mutation.file.endsWith('.lua');
}

/** `source` (of `url`) with the mutation applied; `report` hears what was replaced, or why nothing was. */
function mutate(mutation, url, source, report) {
  // tsx minifies whitespace (not inside strings): a space matches any run of it
  const escaped = mutation.find.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/\s+/g, '\\s*');
  const matches = source.match(new RegExp(escaped, 'g')) ?? [];
  if (matches.length !== 1) {
    const error = `mutation-hooks: "${mutation.find}" found ${matches.length} times in ${url}, expected once`;
    report({ error });
    throw new Error(error);
  }
  report({ applied: url, find: matches[0], replace: mutation.replace, breaks: mutation.breaks });
  return source.replace(matches[0], mutation.replace);
}

/**
 * For a mutation of a file the store reads: `readFileSync` of this thread returns that file
 * mutated (builtin ESM imports included, through `syncBuiltinESMExports`). Call before the store's
 * modules load.
 */
export function mutateReads(mutation, report, fs, syncBuiltinESMExports) {
  const read = fs.readFileSync;
  fs.readFileSync = function readMutated(path, ...rest) {
    const text = read.call(this, path, ...rest);
    const url = path instanceof URL ? path.href : String(path);
    if (!url.endsWith(mutation.file)) return text;
    const source = typeof text === 'string' ? text : new TextDecoder().decode(text);
    const mutated = mutate(mutation, url, source, report);
    return typeof text === 'string' ? mutated : Buffer.from(mutated);
  };
  syncBuiltinESMExports();
}

let mutation;
let port;

export async function initialize(data) {
  mutation = mutationNamed(data.mutation);
  port = data.port;
}

export async function load(url, context, nextLoad) {
  const result = await nextLoad(url, context);
  if (!url.endsWith(mutation.file)) return result;
  const source = typeof result.source === 'string' ? result.source : new TextDecoder().decode(result.source);
  return { ...result, source: mutate(mutation, url, source, (message) => port.postMessage(message)) };
}
