import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

/** The breaker's Lua state machine, as RedisStore runs it, and the names of its arguments. */
export interface BreakerScript {
  readonly lua: string;
  /** ARGV[1..] names: `now`, then the arguments the stored document keeps as `cfg`. */
  readonly args: readonly string[];
}

interface ScriptModule {
  readonly BREAKER_LUA?: string;
  readonly BREAKER_ARGS?: readonly string[];
}

let loaded: Promise<BreakerScript> | undefined;

/**
 * Loads the breaker script from the installed @breakwater/store-redis, so that the CLI runs
 * exactly the state machine the services run: from the package's entry point when it exports
 * it, otherwise from its build output (dist/breaker-script.js; src/ when run from sources).
 */
export function loadBreakerScript(): Promise<BreakerScript> {
  loaded ??= load();
  return loaded;
}

async function load(): Promise<BreakerScript> {
  const main = (await import('@breakwater/store-redis')) as ScriptModule;
  if (typeof main.BREAKER_LUA === 'string' && Array.isArray(main.BREAKER_ARGS)) {
    return { lua: main.BREAKER_LUA, args: main.BREAKER_ARGS };
  }
  const require = createRequire(import.meta.url);
  const root = path.dirname(require.resolve('@breakwater/store-redis/package.json'));
  const failures: string[] = [];
  for (const file of ['dist/breaker-script.js', 'src/breaker-script.ts']) {
    try {
      const mod = (await import(pathToFileURL(path.join(root, file)).href)) as ScriptModule;
      if (typeof mod.BREAKER_LUA === 'string' && Array.isArray(mod.BREAKER_ARGS)) {
        return { lua: mod.BREAKER_LUA, args: mod.BREAKER_ARGS };
      }
      failures.push(`${file}: no BREAKER_LUA`);
    } catch (error) {
      failures.push(`${file}: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`);
    }
  }
  throw new Error(`cannot load the breaker script from @breakwater/store-redis (${failures.join('; ')})`);
}
