import { type BreakerConfigValues, packBreakerConfig } from '@breakwater/store-redis/wire';
import { describe, expect, it } from 'vitest';
import { statusOf } from './breakers.js';
import { EXIT, main } from './cli.js';
import { duration, percent, statusBlock, table } from './format.js';
import { redact, redisTarget } from './redis-url.js';

/** Runs main() in-process; nothing here reaches Redis (usage errors stop before connecting). */
async function run(argv: string[], env: Record<string, string> = {}) {
  let stdout = '';
  let stderr = '';
  const code = await main(argv, {
    stdout: { write: (t: string) => (stdout += t) },
    stderr: { write: (t: string) => (stderr += t) },
    env,
  });
  return { code, stdout, stderr };
}

describe('usage errors (exit 2, one line, nothing on stdout)', () => {
  const cases: [string[], RegExp][] = [
    [[], /no command given/],
    [['frobnicate'], /unknown command 'frobnicate'/],
    [['status'], /status needs a breaker name/],
    [['open'], /open needs a breaker name/],
    [['close'], /close needs a breaker name/],
    [['disable'], /disable needs a breaker name/],
    [['reset'], /reset needs a breaker name or --all/],
    [['reset', 'a', '--all'], /a name or --all, not both/],
    [['status', 'a', 'b'], /takes one breaker name/],
    [['list', 'extra'], /list takes no arguments/],
    [['watch', 'extra'], /watch takes no arguments/],
    [['list', '--all'], /--all goes with reset only/],
    [['list', '--interval', '1s'], /go with watch only/],
    [['status', 'a', '--once'], /go with watch only/],
    [['watch', '--interval', 'soon'], /--interval: expected a duration/],
    [['watch', '--interval', '10ms'], /at least 100ms/],
    [['watch', '--iterations', '0'], /--iterations: a whole number/],
    [['watch', '--iterations', '1.5'], /--iterations: a whole number/],
    [['watch', '--once', '--iterations', '2'], /--once or --iterations, not both/],
    [['list', '--bogus'], /unknown option '--bogus'/],
    [['list', '--redis', 'http://127.0.0.1:6379'], /--redis is not a redis:\/\/ or rediss:\/\/ URL/],
    [['list', '--redis', 'not a url'], /--redis is not a redis/],
    [['list', '--prefix', 'has space'], /--prefix/],
    [['list', '--prefix', 'a{b}'], /--prefix/],
    [['list', '--timeout', 'x'], /--timeout/],
    [['list', '--timeout', '0'], /--timeout/],
    [['status', ''], /the breaker name is empty/],
    [['list', '--kind', 'ratelimiter'], /--kind goes with status only/],
    [['status', 'a', '--kind', 'limiter'], /--kind: one of circuitbreaker, ratelimiter, bulkhead/],
    [['list', '--yes'], /--yes goes with reset --all only/],
    [['reset', 'a', '--yes'], /--yes goes with reset --all only/],
    // no terminal to ask on (no confirm in CliIo): refused before connecting (port 1: nothing there)
    [
      ['reset', '--all', '--redis', 'redis://127.0.0.1:1'],
      /reset --all needs --yes when there is no terminal/,
    ],
  ];
  for (const [argv, message] of cases) {
    it(`breakwater ${argv.join(' ')}`, async () => {
      const r = await run(argv);
      expect(r.code).toBe(EXIT.USAGE);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(message);
      expect(r.stderr).toMatch(/^breakwater: [^\n]*\(see breakwater (--help|help [a-z]+)\)\n$/);
    });
  }

  it('a bad REDIS_URL is named as such', async () => {
    const r = await run(['list'], { REDIS_URL: 'ftp://x' });
    expect(r.code).toBe(EXIT.USAGE);
    expect(r.stderr).toMatch(/REDIS_URL is not a redis/);
  });

  it('never echoes the password of a URL it rejects', async () => {
    for (const url of ['http://:hunter2@host', 'redis://:hunter2@host:notaport', 'redis://:hunter2@']) {
      const r = await run(['list', '--redis', url, '--bogus']);
      expect(r.stderr).not.toContain('hunter2');
      const s = await run(['list', `--redis=${url}`, 'extra']);
      expect(s.stderr).not.toContain('hunter2');
    }
  });

  it('--help and --version exit 0', async () => {
    expect((await run(['--help'])).stdout).toMatch(/^Usage: breakwater <command>/);
    expect((await run(['list', '-h'])).code).toBe(0);
    expect((await run(['--version'])).stdout).toMatch(/^\d+\.\d+\.\d+\n$/);
  });
});

describe('help', () => {
  const COMMANDS = ['list', 'status', 'open', 'close', 'disable', 'reset', 'watch', 'help'];

  it('breakwater help is the full help, as --help', async () => {
    const help = await run(['help']);
    expect(help).toEqual({ code: 0, stdout: (await run(['--help'])).stdout, stderr: '' });
    expect(help.stdout).toMatch(/^Usage: breakwater <command>/);
    for (const command of COMMANDS) expect(help.stdout).toMatch(new RegExp(`^  ${command}\\b`, 'm'));
  });

  for (const command of COMMANDS) {
    it(`breakwater help ${command}: usage, what it does, its options, an example`, async () => {
      const r = await run(['help', command]);
      expect(r.code).toBe(0);
      expect(r.stderr).toBe('');
      const text = r.stdout;
      expect(text).toMatch(new RegExp(`^Usage: breakwater ${command}\\b.*\n\n\\S`));
      expect(text).toMatch(/\nOptions:\n( {2}.*\n)+/);
      expect(text).toMatch(/\nExamples?:\n {2}\$ breakwater /);
      // only this command's help, not the whole list
      expect(text).not.toMatch(/^Commands:/m);
      expect(text.length).toBeLessThan((await run(['help'])).stdout.length);
    });
  }

  it("--help (or -h) after a command is that command's help", async () => {
    for (const command of COMMANDS.filter((c) => c !== 'help')) {
      const expected = (await run(['help', command])).stdout;
      expect((await run([command, '--help'])).stdout).toBe(expected);
      expect((await run([command, 'some-name', '-h'])).stdout).toBe(expected);
    }
  });

  it("each command's help names the options that go with it", async () => {
    const help = async (command: string) => (await run(['help', command])).stdout;
    expect(await help('watch')).toMatch(/--interval <time>[\s\S]*--iterations <n>[\s\S]*--once/);
    expect(await help('reset')).toMatch(/--all[\s\S]*-y, --yes/);
    expect(await help('list')).not.toContain('--interval');
    for (const command of COMMANDS.filter((c) => c !== 'help')) {
      for (const option of ['--redis <url>', '--prefix <prefix>', '--timeout <ms>', '--json', '--help']) {
        expect(await help(command)).toContain(option);
      }
    }
  });

  it("a usage error about one command points to that command's help", async () => {
    expect((await run(['watch', '--interval', 'soon'])).stderr).toMatch(/\(see breakwater help watch\)\n$/);
    expect((await run(['status'])).stderr).toMatch(/\(see breakwater help status\)\n$/);
    expect((await run(['frobnicate'])).stderr).toMatch(/\(see breakwater --help\)\n$/);
  });

  it('a bad help request is a usage error', async () => {
    const unknown = await run(['help', 'frobnicate']);
    expect(unknown.code).toBe(EXIT.USAGE);
    expect(unknown.stderr).toMatch(/unknown command 'frobnicate'/);
    const two = await run(['help', 'list', 'status']);
    expect(two.code).toBe(EXIT.USAGE);
    expect(two.stderr).toMatch(/help takes one command name/);
    expect((await run(['frobnicate', '--help'])).code).toBe(EXIT.USAGE);
  });
});

describe('redisTarget / redact', () => {
  it('blanks out the password, raw and URL-encoded', () => {
    const t = redisTarget('redis://user:p%40ss@127.0.0.1:6379/2')!;
    expect(t.shown).toBe('redis://user:***@127.0.0.1:6379/2');
    expect(t.secrets).toEqual(['p%40ss', 'p@ss']);
    expect(redact('auth p@ss failed (p%40ss)', t.secrets)).toBe('auth *** failed (***)');
  });

  it('leaves a URL without a password alone, and accepts rediss://', () => {
    expect(redisTarget('redis://127.0.0.1:6379')).toEqual({
      url: 'redis://127.0.0.1:6379',
      shown: 'redis://127.0.0.1:6379',
      secrets: [],
    });
    expect(redisTarget('rediss://:pw@example.test:6380')?.shown).toBe('rediss://:***@example.test:6380');
    expect(redisTarget('http://x')).toBeUndefined();
  });
});

describe('statusOf', () => {
  it("shows a time window's counts as the script will see them (the decay itself: store-redis/wire)", () => {
    const doc = JSON.stringify({
      state: 'CLOSED',
      since: 1_000,
      // seconds 10 and 11 in buckets 0 and 1
      window: {
        type: 'TIME',
        size: 2,
        lastSecond: 11,
        calls: 3,
        failures: 2,
        slow: 1,
        slowFailures: 0,
        minimumCalls: 1,
        bucketCalls: [1, 2],
        bucketFailures: [1, 1],
        bucketSlow: [0, 1],
        bucketSlowFailures: [0, 0],
      },
    });
    // at second 12, second 10 has left the window
    expect(statusOf('t', 'k', doc, -1, 12_500)).toMatchObject({
      state: 'CLOSED',
      since: 1_000,
      bufferedCalls: 2,
      failedCalls: 1,
      successfulCalls: 1,
      failureRate: 50,
      slowCallRate: 50,
      window: { type: 'TIME_BASED', size: 2, minimumCalls: 1 },
      config: null,
      ttlMs: null,
    });
  });

  it('gives the stored config typed: numbers and booleans, not the strings the script stores', () => {
    const values: BreakerConfigValues = {
      ttlMs: 86_400_000,
      windowType: 'COUNT',
      windowSize: 4,
      closedMin: 4,
      halfOpenMin: 2,
      failureRateThreshold: 50,
      slowCallRateThreshold: 100,
      permitted: 2,
      maxWaitHalfOpen: 0,
      afterWaitTarget: 'OPEN',
      automatic: '1',
      failureCountThreshold: 0,
      consecutiveThreshold: 0,
      halfOpenPolicy: 'rate',
      successThreshold: 2,
      leaseMs: 60_000,
      channel: 'breakwater:events',
      name: 't',
      waits: '30000',
    };
    const doc = (v: BreakerConfigValues) =>
      JSON.stringify({
        state: 'CLOSED',
        since: 1_000,
        window: { type: 'COUNT', size: 4, calls: 0, minimumCalls: 4 },
        cfg: JSON.parse(packBreakerConfig(v)),
      });
    expect(statusOf('t', 'k', doc(values), -1, 2_000).config).toEqual({
      slidingWindowType: 'COUNT_BASED',
      slidingWindowSize: 4,
      minimumNumberOfCalls: 4,
      failureRateThreshold: 50,
      slowCallRateThreshold: 100,
      permittedNumberOfCallsInHalfOpenState: 2,
      maxWaitDurationInHalfOpenState: 0,
      automaticTransitionFromOpenToHalfOpenEnabled: true,
      failureCountThreshold: 0,
      consecutiveFailureThreshold: 0,
      halfOpenPolicy: 'rate',
      waitDurationInOpenState: 30_000,
    });
    // a growing open wait is stored as the series of waits: a list of numbers
    const growing = statusOf(
      't',
      'k',
      doc({ ...values, automatic: '0', waits: '1000,2000,4000' }),
      -1,
      2_000,
    );
    expect(growing.config).toMatchObject({
      automaticTransitionFromOpenToHalfOpenEnabled: false,
      waitDurationInOpenState: [1000, 2000, 4000],
    });
  });

  it('reports garbage as INVALID with the reason', () => {
    expect(statusOf('g', 'k', 'nope', 1000, 0)).toMatchObject({ state: 'INVALID', ttlMs: 1000 });
    expect(statusOf('g', 'k', '{"state":1}', -1, 0).problem).toMatch(/no state/);
  });
});

describe('format', () => {
  it('durations, rates and tables', () => {
    expect([
      duration(850),
      duration(12_400),
      duration(185_000),
      duration(7_800_000),
      duration(90_000_000),
    ]).toEqual(['850ms', '12s', '3m 05s', '2h 10m', '1d 1h']);
    expect([percent(-1), percent(50), percent(33.333)]).toEqual(['-', '50%', '33.3%']);
    expect(table(['A', 'BB'], [['xxx', 'y']])).toBe('A    BB\nxxx  y');
  });
});

describe('plurals', () => {
  const halfOpen = (permits: number, calls: number, refused: number, minimum: number) =>
    statusOf(
      'p',
      'k',
      JSON.stringify({
        state: 'HALF_OPEN',
        since: 1_000,
        halfOpenAvailable: permits,
        notPermitted: refused,
        window: { type: 'COUNT', size: 4, calls, failures: calls, minimumCalls: minimum },
      }),
      -1,
      2_000,
    );

  /** Each line of status that counts something: with one of it, and with none or several. */
  const counted = [
    ['(1 probe permit left)', '(2 probe permits left)'],
    ['(1 of 1 buffered call)', '(3 of 3 buffered calls)'],
    ['1 call refused in this state', '0 calls refused in this state'],
    ['minimum 1 call', 'minimum 2 calls'],
  ];

  it('one of a thing is singular, in every line of status', () => {
    const text = statusBlock(halfOpen(1, 1, 1, 1), 2_000);
    for (const [one] of counted) expect(text).toContain(one);
    expect(text).not.toMatch(/\b1 \w+s\b/);
  });

  it('none or several of a thing are plural', () => {
    const text = statusBlock(halfOpen(2, 3, 0, 2), 2_000);
    for (const [, several] of counted) expect(text).toContain(several);
  });
});
