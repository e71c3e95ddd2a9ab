import { createRequire } from 'node:module';
import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import type { PolicyKind } from '@breakwater/store-redis/wire';
import {
  type BreakerStatus,
  type ForceResult,
  type ForceTarget,
  forceBreaker,
  readBreakers,
  UnforceableBreakerError,
} from './breakers.js';
import { type Connection, redisNow } from './connection.js';
import { breakerTable, duration, plural, policyTables, statusBlock } from './format.js';
import { COMMANDS, type Command, commandHelp, USAGE } from './help.js';
import {
  isKind,
  KIND_NAMES,
  KINDS,
  kindsNamed,
  type PolicyStatus,
  readPolicies,
  readPolicy,
  scanPolicies,
} from './policies.js';
import { DEFAULT_REDIS_URL, type RedisTarget, redact, redisTarget } from './redis-url.js';

/** Exit codes: documented in `breakwater --help`. */
export const EXIT = { OK: 0, FAILED: 1, USAGE: 2, NOT_FOUND: 3, UNREACHABLE: 4 } as const;

export interface CliIo {
  readonly stdout: { write(text: string): unknown; readonly isTTY?: boolean };
  readonly stderr: { write(text: string): unknown };
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Resolves when the user asks to stop (Ctrl-C): ends `watch`. */
  readonly interrupted?: Promise<void>;
  /**
   * Asks a yes-or-no question on the terminal and resolves to the answer (false for anything but
   * yes). Absent when there is no terminal to ask on: then `reset --all` needs `--yes`.
   */
  readonly confirm?: (question: string) => Promise<boolean>;
}

class CliError extends Error {
  constructor(
    message: string,
    readonly code: number,
  ) {
    super(message);
  }
}

/** A usage error; `command`: the command it is about, whose help the message points to. */
const usage = (message: string, command?: Command) =>
  new CliError(`${message} (see breakwater ${command ? `help ${command}` : '--help'})`, EXIT.USAGE);
const TARGETS: Readonly<Record<string, ForceTarget>> = {
  open: 'FORCED_OPEN',
  close: 'CLOSED',
  disable: 'DISABLED',
  reset: 'RESET',
};

interface Options {
  readonly command: Exclude<Command, 'help'>;
  readonly name: string | undefined;
  /** status --kind: the kind of policy the name is of. */
  readonly kind: PolicyKind | undefined;
  readonly target: RedisTarget;
  readonly prefix: string;
  readonly json: boolean;
  readonly all: boolean;
  /** reset --all: no question asked. */
  readonly yes: boolean;
  readonly timeoutMs: number;
  readonly intervalMs: number;
  readonly iterations: number;
}

function parseDuration(flag: string, text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(text.trim());
  if (!m) throw usage(`${flag}: expected a duration such as 2s or 500ms, got '${text}'`, 'watch');
  const value = Number(m[1]) * (m[2] === 'ms' ? 1 : m[2] === 'm' ? 60_000 : 1000);
  return value;
}

/** What to do: run a command, print a help (`undefined`: the full one), or print the version. */
type Request = Options | { readonly help: Command | undefined } | 'version';

function parseOptions(argv: readonly string[], env: CliIo['env']): Request {
  let parsed: ReturnType<typeof parse>;
  function parse() {
    return parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        redis: { type: 'string' },
        prefix: { type: 'string' },
        json: { type: 'boolean' },
        all: { type: 'boolean' },
        kind: { type: 'string' },
        yes: { type: 'boolean', short: 'y' },
        timeout: { type: 'string' },
        interval: { type: 'string' },
        iterations: { type: 'string' },
        once: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'v' },
      },
    });
  }
  try {
    parsed = parse();
  } catch (error) {
    // parseArgs names the bad option; never echo a --redis value
    const message = error instanceof Error ? error.message.split('\n')[0] : String(error);
    throw usage(
      message.replace(/^Unknown option/, 'unknown option').replace(/\. To specify a positional.*$/, ''),
    );
  }
  const { values, positionals } = parsed;
  const [command, ...rest] = positionals;
  if (command === undefined) {
    if (values.help) return { help: undefined };
    if (values.version) return 'version';
    throw usage('no command given');
  }
  const known = (c: string): c is Command => (COMMANDS as readonly string[]).includes(c);
  if (!known(command)) throw usage(`unknown command '${command}'`);
  if (command === 'help') {
    if (rest.length > 1) throw usage('help takes one command name', 'help');
    const about = rest[0];
    if (about !== undefined && !known(about)) throw usage(`unknown command '${about}'`);
    return { help: about };
  }
  if (values.help) return { help: command };
  if (values.version) return 'version';
  const cmd = command;

  const takesName =
    cmd === 'status' || cmd === 'open' || cmd === 'close' || cmd === 'disable' || cmd === 'reset';
  if (!takesName && rest.length > 0) throw usage(`${cmd} takes no arguments`, cmd);
  if (takesName && rest.length > 1) throw usage(`${cmd} takes one breaker name`, cmd);
  const name = rest[0];
  const all = values.all === true;
  if (all && cmd !== 'reset') throw usage('--all goes with reset only', cmd);
  if (cmd === 'reset' && all && name !== undefined) throw usage('reset takes a name or --all, not both', cmd);
  if (takesName && name === undefined && !(cmd === 'reset' && all)) {
    throw usage(cmd === 'reset' ? 'reset needs a breaker name or --all' : `${cmd} needs a breaker name`, cmd);
  }
  if (name !== undefined && name.length === 0) throw usage('the breaker name is empty', cmd);
  const kind = values.kind;
  if (kind !== undefined) {
    if (cmd !== 'status') throw usage('--kind goes with status only', cmd);
    if (!isKind(kind)) throw usage(`--kind: one of ${KINDS.join(', ')}`, cmd);
  }
  const yes = values.yes === true;
  if (yes && !(cmd === 'reset' && all)) throw usage('--yes goes with reset --all only', cmd);
  const watchOnly = values.interval !== undefined || values.iterations !== undefined || values.once === true;
  if (watchOnly && cmd !== 'watch')
    throw usage('--interval, --iterations and --once go with watch only', cmd);

  const rawUrl = values.redis ?? (env.REDIS_URL || DEFAULT_REDIS_URL);
  const target = redisTarget(rawUrl);
  if (target === undefined) {
    throw usage(
      `${values.redis !== undefined ? '--redis' : 'REDIS_URL'} is not a redis:// or rediss:// URL`,
      cmd,
    );
  }
  const prefix = values.prefix ?? (env.BREAKWATER_PREFIX || 'breakwater');
  if (prefix.length === 0 || /[{}\s]/.test(prefix))
    throw usage('--prefix: a non-empty prefix without braces or spaces', cmd);

  const timeoutMs = values.timeout === undefined ? 2000 : Number(values.timeout);
  if (!Number.isFinite(timeoutMs) || timeoutMs < 1 || timeoutMs > 600_000) {
    throw usage('--timeout: a number of milliseconds between 1 and 600000', cmd);
  }
  const intervalMs = values.interval === undefined ? 2000 : parseDuration('--interval', values.interval);
  if (intervalMs < 100) throw usage('--interval: at least 100ms', cmd);
  let iterations = Number.POSITIVE_INFINITY;
  if (values.once) iterations = 1;
  if (values.iterations !== undefined) {
    if (values.once) throw usage('--once or --iterations, not both', cmd);
    iterations = Number(values.iterations);
    if (!Number.isInteger(iterations) || iterations < 1)
      throw usage('--iterations: a whole number from 1', cmd);
  }
  return {
    command: cmd,
    name,
    kind,
    target,
    prefix,
    json: values.json === true,
    all,
    yes,
    timeoutMs,
    intervalMs,
    iterations,
  };
}

/** Connects with a short timeout and no retries, so that an unreachable Redis fails at once. */
async function connect(target: RedisTarget, timeoutMs: number): Promise<Connection> {
  // Loaded here, not at the top: usage errors and --help answer without it.
  const { Cluster, Redis } = await import('ioredis');
  const common = {
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
    reconnectOnError: () => false,
  };
  const redis = new Redis(target.url, { ...common, lazyConnect: true });
  const fail = (conn: Connection, error: unknown): never => {
    conn.disconnect();
    const reason = error instanceof Error ? error.message : String(error);
    throw new CliError(`cannot reach Redis at ${target.shown}: ${reason}`, EXIT.UNREACHABLE);
  };
  try {
    await ready(redis, () => redis.connect(), timeoutMs);
  } catch (error) {
    fail(redis, error);
  }
  // A cluster node: scan every master and route each key to its slot.
  let info = '';
  try {
    info = await redis.info('cluster');
  } catch (error) {
    fail(redis, error);
  }
  if (!/cluster_enabled:1/.test(info)) return redis;
  redis.disconnect();
  const { host, port, username, password, tls } = redis.options;
  const cluster = new Cluster([{ host, port }], {
    clusterRetryStrategy: () => null,
    lazyConnect: true,
    redisOptions: { ...common, username, password, tls },
  });
  try {
    await ready(cluster, () => cluster.connect(), timeoutMs);
  } catch (error) {
    fail(cluster, error);
  }
  return cluster;
}

/**
 * Settles when `connect()` does, or rejects at the first sign that it will not: the connection
 * ended (no retries), or no answer within the timeout. Rejects with the client's own error.
 */
function ready(conn: Connection, connect: () => Promise<void>, timeoutMs: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let lastError: unknown;
    const onError = (error: unknown) => {
      lastError = error;
    };
    const onEnd = () => done(lastError ?? new Error('connection closed'));
    const timer = setTimeout(
      () => done(lastError ?? new Error(`no answer within ${timeoutMs} ms`)),
      timeoutMs + 250,
    );
    const done = (error?: unknown) => {
      clearTimeout(timer);
      conn.off('end', onEnd);
      if (error === undefined) resolve();
      else reject(error);
    };
    conn.on('error', onError); // stays attached: an unhandled 'error' event would crash the CLI
    conn.once('end', onEnd);
    connect().then(
      () => done(),
      (error: unknown) => done(lastError ?? error),
    );
  });
}

/** Errors on an established connection: Redis went away (4), or something else (1). */
function classify(error: unknown, target: RedisTarget): CliError {
  if (error instanceof CliError) return error;
  if (error instanceof UnforceableBreakerError) return new CliError(error.message, EXIT.FAILED);
  const message = error instanceof Error ? error.message : String(error);
  if (
    /Connection is closed|Stream isn't writeable|ECONNRESET|ECONNREFUSED|EPIPE|Command timed out|ETIMEDOUT/i.test(
      message,
    )
  ) {
    return new CliError(`lost Redis at ${target.shown}: ${message}`, EXIT.UNREACHABLE);
  }
  return new CliError(message, EXIT.FAILED);
}

const ORIGIN = `breakwater-cli@${hostname()}:${process.pid}`;

/**
 * Runs the CLI: `argv` without `node` and the script. Writes to `io` and resolves to the exit
 * code; every line written has the Redis password blanked out.
 */
export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  let secrets: readonly string[] = [];
  const out = (text: string) => io.stdout.write(redact(text, secrets));
  const err = (text: string) => io.stderr.write(redact(text, secrets));
  // Blank out the password even from usage errors, before the URL is known to parse.
  const rawUrl = argvValue(argv, '--redis') ?? io.env.REDIS_URL;
  if (rawUrl !== undefined) secrets = redisTarget(rawUrl)?.secrets ?? passwordGuess(rawUrl);

  let options: ReturnType<typeof parseOptions>;
  try {
    options = parseOptions(argv, io.env);
  } catch (error) {
    err(`breakwater: ${(error as Error).message}\n`);
    return (error as CliError).code ?? EXIT.USAGE;
  }
  if (typeof options === 'object' && 'help' in options) {
    out(options.help === undefined ? USAGE : commandHelp(options.help));
    return EXIT.OK;
  }
  if (options === 'version') {
    out(`${VERSION}\n`);
    return EXIT.OK;
  }
  secrets = options.target.secrets;
  if (options.all && !options.yes && io.confirm === undefined) {
    err(
      'breakwater: reset --all needs --yes when there is no terminal to confirm on; nothing was reset ' +
        '(see breakwater help reset)\n',
    );
    return EXIT.USAGE;
  }
  let conn: Connection | undefined;
  try {
    conn = await connect(options.target, options.timeoutMs);
    return await run(conn, options, { out, err, io });
  } catch (error) {
    const e = classify(error, options.target);
    err(`breakwater: ${e.message.split('\n')[0]}\n`);
    return e.code;
  } finally {
    conn?.disconnect();
  }
}

const VERSION = (createRequire(import.meta.url)('../package.json') as { version: string }).version;

/** The value of `--flag value` or `--flag=value` in argv, without parsing the rest. */
function argvValue(argv: readonly string[], flag: string): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === flag) return argv[i + 1];
    if (argv[i].startsWith(`${flag}=`)) return argv[i].slice(flag.length + 1);
  }
  return undefined;
}

/** For a URL that does not parse: whatever sits between `:` and `@` in its authority. */
function passwordGuess(raw: string): string[] {
  const m = /^[a-z]+:\/\/[^:@/]*:([^@/]+)@/i.exec(raw);
  return m ? [m[1]] : [];
}

interface Output {
  readonly out: (text: string) => unknown;
  readonly err: (text: string) => unknown;
  readonly io: CliIo;
}

const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;

async function run(conn: Connection, o: Options, w: Output): Promise<number> {
  switch (o.command) {
    case 'list':
      return list(conn, o, w);
    case 'status':
      return status(conn, o, w);
    case 'watch':
      return watch(conn, o, w);
    default:
      return o.all ? resetAll(conn, o, w) : force(conn, o, w, TARGETS[o.command]);
  }
}

async function list(conn: Connection, o: Options, w: Output): Promise<number> {
  const [entries, now] = await Promise.all([scanPolicies(conn, o.prefix), redisNow(conn)]);
  const policies = await readPolicies(conn, o.prefix, entries, now);
  if (o.json) {
    w.out(json(policies));
    return EXIT.OK;
  }
  if (entries.length === 0) {
    w.out(`No policies under prefix '${o.prefix}' on ${o.target.shown}\n`);
    return EXIT.OK;
  }
  w.out(`${policyTables(policies, now)}\n`);
  return EXIT.OK;
}

/** No `what` (a kind of policy, or any) named `name`; `hint` says more. */
function notFound(o: Options, what: string, name: string, hint = ''): CliError {
  return new CliError(
    `no ${what} named '${name}' under prefix '${o.prefix}' on ${o.target.shown}${hint}`,
    EXIT.NOT_FOUND,
  );
}

/** `a`, `a and b`, `a, b and c` (or `or`). */
function either(items: readonly string[], conjunction: 'and' | 'or'): string {
  return items.length <= 1
    ? items.join('')
    : `${items.slice(0, -1).join(', ')} ${conjunction} ${items.at(-1)}`;
}

async function status(conn: Connection, o: Options, w: Output): Promise<number> {
  const name = o.name!;
  const now = await redisNow(conn);
  const kinds = o.kind === undefined ? KINDS : [o.kind];
  const read = await Promise.all(kinds.map((kind) => readPolicy(conn, o.prefix, kind, name, now)));
  const found = read.filter((p): p is PolicyStatus => p !== undefined);
  if (found.length === 0) throw notFound(o, o.kind === undefined ? 'policy' : KIND_NAMES[o.kind], name);
  if (found.length > 1) {
    const names = found.map((p) => `a ${KIND_NAMES[p.kind]}`);
    throw new CliError(
      `'${name}' names ${either(names, 'and')} under prefix '${o.prefix}': ` +
        `say which with ${either(
          found.map((p) => `--kind ${p.kind}`),
          'or',
        )} (see breakwater help status)`,
      EXIT.USAGE,
    );
  }
  const policy = found[0];
  w.out(o.json ? json(policy) : `${statusBlock(policy, now)}\n`);
  return EXIT.OK;
}

/** A breaker command on a name that is no breaker: what the name is, if it is something else. */
async function noBreaker(conn: Connection, o: Options, name: string): Promise<CliError> {
  const others = (await kindsNamed(conn, o.prefix, name)).filter((k) => k !== 'circuitbreaker');
  const hint =
    others.length === 0
      ? ''
      : ` ('${name}' is ${either(
          others.map((k) => `a ${KIND_NAMES[k]}`),
          'and',
        )}: ${o.command} acts on breakers only)`;
  return notFound(o, 'breaker', name, hint);
}

function describeForce(name: string, target: ForceTarget, r: ForceResult): string {
  if (target === 'RESET') {
    const moved = r.transitions.map((t) => `${t.from} -> ${t.to}`).join(', ');
    return `${name}: reset (${moved || 'CLOSED'}, window cleared)`;
  }
  if (r.transitions.length === 0) return `${name}: already ${target}`;
  const moved = r.transitions.map((t) => `${t.from} -> ${t.to}`).join(', ');
  const effect: Record<string, string> = {
    FORCED_OPEN: `every process now refuses its calls, until 'breakwater close ${name}'`,
    CLOSED: 'every process calls through it again',
    DISABLED: `calls always pass and nothing is recorded, until 'breakwater close ${name}'`,
  };
  return `${name}: ${moved}; ${effect[target]}`;
}

async function force(conn: Connection, o: Options, w: Output, target: ForceTarget): Promise<number> {
  const name = o.name!;
  const result = await forceBreaker(conn, o.prefix, name, target, ORIGIN);
  if (!result.found) throw await noBreaker(conn, o, name);
  if (!result.legal) {
    throw new CliError(`${name}: ${result.before} cannot go to ${target}`, EXIT.FAILED);
  }
  if (o.json) {
    w.out(json({ name, target, before: result.before, transitions: result.transitions }));
  } else {
    w.out(`${describeForce(name, target, result)}\n`);
  }
  return EXIT.OK;
}

/** `alpha, beta, gamma`, or the first ones and how many more. */
function someNames(names: readonly string[], most = 8): string {
  const shown = names.slice(0, most).join(', ');
  return names.length > most ? `${shown} and ${names.length - most} more` : shown;
}

async function resetAll(conn: Connection, o: Options, w: Output): Promise<number> {
  const names = (await scanPolicies(conn, o.prefix))
    .filter((e) => e.kind === 'circuitbreaker')
    .map((e) => e.name);
  if (names.length > 0 && !o.yes) {
    // main() made sure there is a terminal to ask on
    const question =
      `Reset ${plural(names.length, 'breaker')} (${someNames(names)}) under prefix '${o.prefix}' ` +
      `on ${o.target.shown}? [y/N] `;
    if (!(await w.io.confirm?.(redact(question, o.target.secrets)))) {
      throw new CliError('not confirmed: nothing was reset', EXIT.FAILED);
    }
  }
  const done: { name: string; before: string; transitions: readonly { from: string; to: string }[] }[] = [];
  const failed: { name: string; error: string }[] = [];
  for (const name of names) {
    try {
      const r = await forceBreaker(conn, o.prefix, name, 'RESET', ORIGIN);
      if (r.found) done.push({ name, before: r.before, transitions: r.transitions });
    } catch (error) {
      const e = classify(error, o.target);
      if (e.code === EXIT.UNREACHABLE) throw e;
      failed.push({ name, error: e.message });
    }
  }
  if (o.json) {
    w.out(json({ reset: done, failed }));
  } else {
    if (done.length === 0 && failed.length === 0)
      w.out(`No breakers under prefix '${o.prefix}' on ${o.target.shown}\n`);
    for (const d of done) w.out(`${describeForce(d.name, 'RESET', { found: true, legal: true, ...d })}\n`);
    for (const f of failed) w.err(`breakwater: ${f.error}\n`);
    if (done.length > 0) w.out(`${plural(done.length, 'breaker')} reset\n`);
  }
  return failed.length > 0 ? EXIT.FAILED : EXIT.OK;
}

async function watch(conn: Connection, o: Options, w: Output): Promise<number> {
  const live = w.io.stdout.isTTY === true && !o.json;
  let stopped = false;
  let wake: () => void = () => {};
  w.io.interrupted?.then(() => {
    stopped = true;
    wake();
  });
  if (live) w.out('\x1b[?25l'); // hide the cursor while the table redraws
  try {
    for (let i = 0; i < o.iterations && !stopped; i++) {
      if (i > 0) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, o.intervalMs);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        if (stopped) break;
      }
      const [entries, now] = await Promise.all([scanPolicies(conn, o.prefix), redisNow(conn)]);
      const names = entries.filter((e) => e.kind === 'circuitbreaker').map((e) => e.name);
      const breakers: BreakerStatus[] = await readBreakers(conn, o.prefix, names, now);
      if (o.json) {
        w.out(`${JSON.stringify({ at: new Date(now).toISOString(), breakers })}\n`);
        continue;
      }
      const title =
        `breakwater watch  ${o.target.shown}  prefix ${o.prefix}  ${new Date(now).toISOString().slice(11, 19)} UTC` +
        `  every ${duration(o.intervalMs)}${live ? ', Ctrl-C to quit' : ''}`;
      const body = breakers.length === 0 ? '(no breakers yet)' : breakerTable(breakers, now);
      // In a terminal: cursor home, clear, redraw. Elsewhere: one table after the other.
      w.out(live ? `\x1b[H\x1b[2J${title}\n\n${body}\n` : `${i > 0 ? '\n' : ''}${title}\n${body}\n`);
    }
  } finally {
    if (live) w.out('\x1b[?25h');
  }
  return EXIT.OK;
}
