/**
 * Node loader hooks (module.register) that break an invariant on purpose, with no hook in the
 * production code: when the module a mutation names is loaded, one snippet of its source (as tsx
 * compiled it, whitespace squeezed out) is replaced. A mutation whose snippet is not found exactly
 * once fails the load, so a refactoring of the target cannot turn the mutation test into a silent
 * no-op.
 */

/** @type {Record<string, { file: string; find: string; replace: string; breaks: string }>} */
const MUTATIONS = {
  // The breaker script grants a half-open probe when none is left: one probe too many.
  'lua-extra-half-open-probe': {
    file: '/packages/store-redis/src/breaker-script.ts',
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

let mutation;
let port;

export async function initialize(data) {
  mutation = MUTATIONS[data.mutation];
  port = data.port;
  if (mutation === undefined) throw new Error(`mutation-hooks: unknown mutation ${data.mutation}`);
}

export async function load(url, context, nextLoad) {
  const result = await nextLoad(url, context);
  if (!url.endsWith(mutation.file)) return result;
  const source = typeof result.source === 'string' ? result.source : new TextDecoder().decode(result.source);
  // tsx minifies whitespace (not inside strings, where the Lua lives): a space matches any run of it
  const escaped = mutation.find.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/\s+/g, '\\s*');
  const matches = source.match(new RegExp(escaped, 'g')) ?? [];
  if (matches.length !== 1) {
    const error = `mutation-hooks: "${mutation.find}" found ${matches.length} times in ${url}, expected once`;
    port.postMessage({ error });
    throw new Error(error);
  }
  port.postMessage({ applied: url, find: matches[0], replace: mutation.replace, breaks: mutation.breaks });
  return { ...result, source: source.replace(matches[0], mutation.replace) };
}
