import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Bulkhead } from '../bulkhead/bulkhead.js';
import { BulkheadRegistry } from '../bulkhead/bulkhead-registry.js';
import { CircuitBreaker } from '../circuit-breaker/circuit-breaker.js';
import { CircuitBreakerRegistry } from '../circuit-breaker/circuit-breaker-registry.js';
import { RateLimiter } from '../rate-limiter/rate-limiter.js';
import { RateLimiterRegistry } from '../rate-limiter/rate-limiter-registry.js';
import { Retry } from '../retry/retry.js';
import { RetryRegistry } from '../retry/retry-registry.js';
import { TimeLimiter } from '../time-limiter/time-limiter.js';
import { TimeLimiterRegistry } from '../time-limiter/time-limiter-registry.js';
import { ConfigError } from './errors.js';
import { validatePolicyName } from './policy-name.js';

const wave = '\u{1F30A}'; // 🌊, two UTF-16 code units: '\uD83C\uDF0A'
const [high, low] = [wave[0]!, wave[1]!];

/** Names that are not well-formed Unicode: each holds a lone surrogate. */
const ILL_FORMED: readonly (readonly [string, string])[] = [
  ['an emoji cut in half at the end', `orders-${high}`],
  ['an emoji cut in half at the start', `${low}-orders`],
  ['a lone low surrogate in the middle', `a${low}b`],
  ['the two halves in the wrong order', `${low}${high}`],
  ['nothing but a high surrogate', high],
];

/** Every way a policy gets its name: each constructor and each registry. */
const CONSTRUCTIONS: readonly (readonly [string, (name: string) => { readonly name: string }])[] = [
  ['CircuitBreaker.of', (n) => CircuitBreaker.of(n)],
  ['new CircuitBreaker', (n) => new CircuitBreaker(n)],
  ['Retry.of', (n) => Retry.of(n)],
  ['RateLimiter.of', (n) => RateLimiter.of(n)],
  ['TimeLimiter.of', (n) => TimeLimiter.of(n)],
  ['Bulkhead.of', (n) => Bulkhead.of(n)],
  ['CircuitBreakerRegistry', (n) => CircuitBreakerRegistry.ofDefaults().circuitBreaker(n)],
  ['RetryRegistry', (n) => RetryRegistry.ofDefaults().retry(n)],
  ['RateLimiterRegistry', (n) => RateLimiterRegistry.ofDefaults().rateLimiter(n)],
  ['TimeLimiterRegistry', (n) => TimeLimiterRegistry.ofDefaults().timeLimiter(n)],
  ['BulkheadRegistry', (n) => BulkheadRegistry.ofDefaults().bulkhead(n)],
];

function configErrorOf(create: () => unknown): ConfigError {
  try {
    create();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('no ConfigError was thrown');
}

describe('validatePolicyName', () => {
  it.each(ILL_FORMED)('rejects %s, naming the field, the value and what is allowed', (_, name) => {
    const e = configErrorOf(() => validatePolicyName('ratelimiter', name));
    expect(e.field).toBe('name');
    expect(e.value).toBe(name);
    expect(e.allowed).toMatch(/well-formed Unicode/);
    // The message shows the lone surrogate escaped, so it can be read and logged.
    expect(e.message).toContain(JSON.stringify(name));
    expect(e.message).toMatch(/^RateLimiter name: 'name' must be .*well-formed Unicode/);
  });

  it('accepts exactly the well-formed names (as String.prototype.isWellFormed says)', () => {
    const isWellFormed = (s: string) => (s as unknown as { isWellFormed(): boolean }).isWellFormed();
    // Any UTF-16 code unit but the control characters, so that well-formedness alone decides.
    const unit = fc
      .integer({ min: 0x20, max: 0xffff })
      .filter((c) => c !== 0x7f)
      .map((c) => String.fromCharCode(c));
    fc.assert(
      fc.property(fc.string({ unit, minLength: 1, maxLength: 8 }), (name) => {
        let accepted = true;
        try {
          validatePolicyName('retry', name);
        } catch {
          accepted = false;
        }
        expect(accepted).toBe(isWellFormed(name));
      }),
      { numRuns: 2_000 },
    );
  });

  it('accepts well-formed names outside the BMP and beyond ASCII', () => {
    for (const name of [wave, `orders-${wave}`, '업비트/kr/ticker', 'a\u00e9b']) {
      expect(validatePolicyName('retry', name)).toBe(name);
    }
  });
});

describe.each(CONSTRUCTIONS)('%s', (_, create) => {
  it.each(ILL_FORMED)('rejects a name holding %s with a ConfigError', (_, name) => {
    const e = configErrorOf(() => create(name));
    expect(e.field).toBe('name');
    expect(e.value).toBe(name);
  });

  it('still rejects the names it rejected before, and keeps a well-formed emoji name', () => {
    for (const name of ['', 'a\nb', 'x'.repeat(257)])
      expect(configErrorOf(() => create(name)).field).toBe('name');
    expect(create(`orders-${wave}`).name).toBe(`orders-${wave}`);
  });
});
