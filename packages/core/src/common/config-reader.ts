import { ConfigError, type PolicyRef } from './errors.js';
import { policySubject } from './policy-name.js';
import type { PolicyKind } from './types.js';

/** Anything that can tell whether an error (or a result) matches: error classes or one predicate. */
// biome-ignore lint/suspicious/noExplicitAny: constructors of any error class are accepted.
export type ErrorClass = abstract new (...args: any[]) => unknown;
export type ErrorMatcher = readonly ErrorClass[] | ((error: unknown) => boolean);

/**
 * Reads one policy's options: every getter validates one field and returns its value or the
 * default. The caller's object is only read, never written.
 */
export class ConfigReader {
  private readonly input: Readonly<Record<string, unknown>>;

  constructor(
    /** e.g. `CircuitBreaker 'payments' config` */
    readonly subject: string,
    input: unknown,
    knownKeys: readonly string[],
    /** The policy the options belong to, named on every error. */
    private readonly policy?: PolicyRef,
  ) {
    if (input === undefined || input === null) {
      this.input = {};
      return;
    }
    if (typeof input !== 'object' || Array.isArray(input)) {
      throw new ConfigError(subject, { field: '(config)', value: input, allowed: 'an object', policy });
    }
    const known = new Set(knownKeys);
    for (const key of Object.keys(input)) {
      if (!known.has(key)) {
        throw new ConfigError(subject, {
          field: key,
          value: (input as Record<string, unknown>)[key],
          allowed: `one of the known options (${[...knownKeys].sort().join(', ')}); '${key}' is not an option`,
          policy,
        });
      }
    }
    this.input = input as Record<string, unknown>;
  }

  has(field: string): boolean {
    return this.input[field] !== undefined;
  }

  fail(field: string, allowed: string, value: unknown = this.input[field]): never {
    throw new ConfigError(this.subject, { field, value, allowed, policy: this.policy });
  }

  integer(field: string, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
    const v = this.input[field];
    if (v === undefined) return fallback;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      this.fail(
        field,
        max === Number.MAX_SAFE_INTEGER ? `an integer >= ${min}` : `an integer in [${min}, ${max}]`,
      );
    }
    return v;
  }

  /** A finite number with `min <= v` (or `min < v` when `exclusiveMin`) and `v <= max`. */
  number(
    field: string,
    fallback: number,
    min: number,
    max = Number.POSITIVE_INFINITY,
    exclusiveMin = false,
  ): number {
    const v = this.input[field];
    if (v === undefined) return fallback;
    const low = exclusiveMin ? (v as number) > min : (v as number) >= min;
    if (typeof v !== 'number' || !Number.isFinite(v) || !low || v > max) {
      const lower = exclusiveMin ? `> ${min}` : `>= ${min}`;
      this.fail(
        field,
        max === Number.POSITIVE_INFINITY ? `a finite number ${lower}` : `a number ${lower} and <= ${max}`,
      );
    }
    return v;
  }

  /** A percentage in (0, 100]. */
  percentage(field: string, fallback: number): number {
    const v = this.input[field];
    if (v === undefined) return fallback;
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0 || v > 100) {
      this.fail(field, 'a percentage in (0, 100]');
    }
    return v;
  }

  boolean(field: string, fallback: boolean): boolean {
    const v = this.input[field];
    if (v === undefined) return fallback;
    if (typeof v !== 'boolean') this.fail(field, 'true or false');
    return v;
  }

  oneOf<T extends string>(field: string, fallback: T, allowed: readonly T[]): T {
    const v = this.input[field];
    if (v === undefined) return fallback;
    if (typeof v !== 'string' || !allowed.includes(v as T)) {
      this.fail(field, `one of ${allowed.map((a) => `'${a}'`).join(', ')}`);
    }
    return v as T;
  }

  // biome-ignore lint/suspicious/noExplicitAny: a function of any signature; narrowed by the caller's type.
  func<F extends (...args: any[]) => unknown>(field: string, fallback: F): F;
  // biome-ignore lint/suspicious/noExplicitAny: as above.
  func<F extends (...args: any[]) => unknown>(field: string, fallback: undefined): F | undefined;
  // biome-ignore lint/suspicious/noExplicitAny: as above.
  func<F extends (...args: any[]) => unknown>(field: string, fallback: F | undefined): F | undefined {
    const v = this.input[field];
    if (v === undefined) return fallback;
    if (typeof v !== 'function') this.fail(field, 'a function');
    return v as F;
  }

  /** An array of error classes, or one predicate; returned as a predicate. */
  errorMatcher(field: string): ((error: unknown) => boolean) | undefined {
    const v = this.input[field];
    if (v === undefined) return undefined;
    return toErrorPredicate(v, (allowed) => this.fail(field, allowed));
  }
}

/** The reader of the config of the policy `name` of `kind`; its errors say so (`Retry 'upbit' config`). */
export function policyConfigReader(
  kind: PolicyKind,
  name: string | undefined,
  config: unknown,
  knownKeys: readonly string[],
): ConfigReader {
  return new ConfigReader(`${policySubject(kind, name)} config`, config, knownKeys, { kind, name });
}

/** Turns `[ErrorA, ErrorB]` or `(e) => boolean` into one predicate. */
export function toErrorPredicate(
  matcher: unknown,
  fail: (allowed: string) => never = (allowed) => {
    throw new TypeError(`error matcher must be ${allowed}`);
  },
): (error: unknown) => boolean {
  const allowed = 'an array of error classes or a predicate (error) => boolean';
  if (typeof matcher === 'function') {
    // A class is also a function: treat a lone class as a one-element list, not a predicate.
    if (isClass(matcher)) return classesPredicate([matcher as ErrorClass]);
    return matcher as (error: unknown) => boolean;
  }
  if (!Array.isArray(matcher)) fail(allowed);
  for (const c of matcher) if (typeof c !== 'function') fail(allowed);
  return classesPredicate(matcher as ErrorClass[]);
}

function classesPredicate(classes: readonly ErrorClass[]): (error: unknown) => boolean {
  const list = classes.slice();
  if (list.length === 0) return () => false;
  return (error) => {
    for (const c of list) if (error instanceof c) return true;
    return false;
  };
}

function isClass(fn: unknown): boolean {
  return (
    typeof fn === 'function' &&
    (/^class[\s{]/.test(Function.prototype.toString.call(fn)) ||
      fn === Error ||
      fn.prototype instanceof Error)
  );
}
