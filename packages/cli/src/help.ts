/**
 * The CLI's help: one entry per command (`breakwater help <command>`, `<command> --help`), and the
 * full help (`breakwater help`, `--help`) written from the same entries, so the two cannot disagree.
 */
import { KINDS } from './policies.js';
import { DEFAULT_REDIS_URL } from './redis-url.js';

export const COMMANDS = ['list', 'status', 'open', 'close', 'disable', 'reset', 'watch', 'help'] as const;
export type Command = (typeof COMMANDS)[number];

type Row = readonly [left: string, right: string];

interface CommandHelp {
  /** Its lines in the full help's command list. */
  readonly summary: readonly Row[];
  /** After `Usage: breakwater `. */
  readonly usage: string;
  /** What it does, a paragraph of lines. */
  readonly about: readonly string[];
  /** Its own options, before the common ones. */
  readonly options: readonly Row[];
  /** Whether the connection options (and --json) apply. */
  readonly connects: boolean;
  readonly examples: readonly string[];
}

const JSON_OPTION: Row = ['--json', 'machine-readable output'];

/** The options of every command that talks to Redis. */
const CONNECTION_OPTIONS: readonly Row[] = [
  ['--redis <url>', `Redis to use (default: $REDIS_URL, else ${DEFAULT_REDIS_URL}); redis:// or rediss://`],
  ['--prefix <prefix>', 'key prefix of the store (default: $BREAKWATER_PREFIX, else breakwater)'],
  ['--timeout <ms>', 'connect and command timeout (default 2000)'],
];

const WATCH_OPTIONS: readonly Row[] = [
  ['--interval <time>', 'time between refreshes, e.g. 2s, 500ms (default 2s)'],
  ['--iterations <n>', 'stop after n refreshes'],
  ['--once', 'one refresh (same as --iterations 1)'],
];

const ALL_OPTION: Row = ['--all', 'every breaker under the prefix'];
const YES_OPTION: Row = ['-y, --yes', 'with --all: do not ask (needed where there is no terminal to ask on)'];

const FORCING = [
  '',
  "Runs the breaker's own Lua script on its key, with the config the services stored there:",
  'atomic, the same rules as the services follow, and published to every process.',
];

export const EXIT_CODES =
  'Exit codes: 0 ok, 1 failed, 2 usage error, 3 no such breaker (or policy), 4 Redis unreachable.';

const HELP: Readonly<Record<Command, CommandHelp>> = {
  list: {
    summary: [['list', 'every policy under the prefix, by kind, with what its state says']],
    usage: 'list [options]',
    about: [
      'Lists every policy whose state is in Redis under the prefix, one table per kind. Circuit',
      'breakers: their state, failure and slow-call rates, buffered, failed and refused calls, and',
      'for how long they have been in their state. Rate limiters: the permits left in the period',
      '(fixed window) or when the next one is free (GCRA), and when they are refilled. Bulkheads:',
      'the slots taken (leases) by running calls, the next lease to expire, whether callers wait.',
      'Keys are read with SCAN; on a Cluster every master is scanned.',
    ],
    options: [JSON_OPTION],
    connects: true,
    examples: [
      'breakwater list',
      'breakwater list --json | jq -r \'.[] | select(.state == "OPEN") | .name\'',
    ],
  },
  status: {
    summary: [['status <name>', 'one policy in detail (--kind when names collide)']],
    usage: 'status <name> [--kind <kind>] [options]',
    about: [
      "One policy in detail. A breaker: its state and for how long, an open breaker's remaining",
      'wait, its rates against the thresholds it opens at, the window, the config the services',
      'stored with it, and when its key expires. A rate limiter: its algorithm, its permits, when it',
      'is refilled. A bulkhead: each lease held and when it expires unless renewed, leases no longer',
      'renewed, whether callers wait. Reads only: it never keeps an idle key alive.',
    ],
    options: [
      ['--kind <kind>', `${KINDS.join(', ')}: which, when policies of several kinds have the name`],
      JSON_OPTION,
    ],
    connects: true,
    examples: [
      'breakwater status pricing',
      'breakwater status pricing --kind ratelimiter',
      'breakwater status pricing --json | jq .failureRate',
    ],
  },
  open: {
    summary: [['open <name>', 'pin the breaker open (FORCED_OPEN): every process refuses its calls']],
    usage: 'open <name> [options]',
    about: [
      "Pins the breaker open (FORCED_OPEN): every process refuses its calls, until 'breakwater close'.",
      ...FORCING,
    ],
    options: [JSON_OPTION],
    connects: true,
    examples: ['breakwater open pricing'],
  },
  close: {
    summary: [['close <name>', 'close the breaker (CLOSED, fresh window): every process calls again']],
    usage: 'close <name> [options]',
    about: ['Closes the breaker with a fresh window: every process calls through it again.', ...FORCING],
    options: [JSON_OPTION],
    connects: true,
    examples: ['breakwater close pricing'],
  },
  disable: {
    summary: [['disable <name>', 'disable the breaker (DISABLED): calls always pass, nothing is recorded']],
    usage: 'disable <name> [options]',
    about: [
      "Disables the breaker: calls always pass and nothing is recorded, until 'breakwater close'.",
      'For a breaker that trips on errors known to be harmless.',
      ...FORCING,
    ],
    options: [JSON_OPTION],
    connects: true,
    examples: ['breakwater disable pricing'],
  },
  reset: {
    summary: [
      ['reset <name>', 'back to CLOSED with an empty window and no open attempts'],
      ['reset --all', 'reset every breaker under the prefix'],
    ],
    usage: 'reset <name> | reset --all [options]',
    about: [
      'Puts the breaker back to CLOSED with an empty window and its open attempts at 0 (so a',
      'growing open wait starts over); --all does so for every breaker under the prefix, once you',
      'have said yes to the list it shows. Without a terminal to ask on, --all needs --yes.',
      ...FORCING,
    ],
    options: [ALL_OPTION, YES_OPTION, JSON_OPTION],
    connects: true,
    examples: ['breakwater reset pricing', 'breakwater reset --all --prefix staging --yes'],
  },
  watch: {
    summary: [['watch', 'a live table of every breaker, refreshed in place (Ctrl-C to quit)']],
    usage: 'watch [options]',
    about: [
      'A table of every breaker, redrawn in place in a terminal (Ctrl-C to quit); elsewhere one',
      'table per refresh, one after the other.',
    ],
    options: [...WATCH_OPTIONS, ['--json', 'one JSON document per refresh, one per line']],
    connects: true,
    examples: [
      'breakwater watch --interval 1s',
      'breakwater watch --once --json | jq \'.breakers[] | select(.state != "CLOSED") | .name\'',
    ],
  },
  help: {
    summary: [['help [command]', 'this help, or the help of one command']],
    usage: 'help [command]',
    about: ["The full help, or one command's: its usage, what it does, its options and examples."],
    options: [],
    connects: false,
    examples: ['breakwater help reset'],
  },
};

/** Rows as two columns, the left one padded to `width`. */
function rows(list: readonly Row[], width: number): string[] {
  return list.map(([left, right]) => `  ${left.padEnd(width)}  ${right}`);
}

const HELP_OPTION: Row = ['-h, --help', 'this help'];

/** `breakwater help <command>`. */
export function commandHelp(command: Command): string {
  const h = HELP[command];
  const options = [...h.options, ...(h.connects ? CONNECTION_OPTIONS : []), HELP_OPTION];
  const width = Math.max(...options.map(([left]) => left.length));
  return [
    `Usage: breakwater ${h.usage}`,
    '',
    ...h.about,
    '',
    'Options:',
    ...rows(options, width),
    '',
    `Example${h.examples.length > 1 ? 's' : ''}:`,
    ...h.examples.map((e) => `  $ ${e}`),
    '',
    ...(h.connects ? [EXIT_CODES] : []),
  ]
    .join('\n')
    .replace(/\n*$/, '\n');
}

const WIDTH = 22;

/** `breakwater help`, `breakwater --help`. */
export const USAGE = [
  'Usage: breakwater <command> [options]',
  '',
  'Inspect the policies your services keep in Redis (@breakwater/store-redis): circuit breakers,',
  'rate limiters, bulkheads; and steer the breakers.',
  '',
  'Commands:',
  ...rows(
    COMMANDS.flatMap((c) => HELP[c].summary),
    WIDTH,
  ),
  '',
  'Options:',
  ...rows(
    [
      ...CONNECTION_OPTIONS.slice(0, 2),
      ['--json', 'machine-readable output (watch: one JSON document per line)'],
      CONNECTION_OPTIONS[2],
      ...WATCH_OPTIONS.map(([left, right]): Row => [left, `watch: ${right}`]),
      ['--kind <kind>', `status: ${KINDS.join(', ')}, when policies of several kinds have the name`],
      [ALL_OPTION[0], `reset: ${ALL_OPTION[1]}`],
      [YES_OPTION[0], `reset --all: ${YES_OPTION[1].replace(/^with --all: /, '')}`],
      ['-h, --help', "this help; after a command, that command's help"],
      ['-v, --version', "the CLI's version"],
    ],
    WIDTH,
  ),
  '',
  "Manual transitions run the breaker's own Lua script on its key with the config the services",
  'stored there, so they are atomic, follow the same rules, and are published to every process.',
  '',
  EXIT_CODES,
  '',
].join('\n');
