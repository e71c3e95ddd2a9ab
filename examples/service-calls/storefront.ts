import {
  CallNotPermittedError,
  CircuitBreakerRegistry,
  type Clock,
  Decorators,
  Retry,
  TimeLimiter,
  TimeoutError,
} from '@breakwater/core';
import {
  type Availability,
  type InventoryService,
  type Order,
  type OrderService,
  type Profile,
  ServiceError,
  type UserService,
} from './services.js';

/** Where a part of the page came from. */
export type Source = 'live' | 'cache' | 'default';

export interface Part<T> {
  readonly value: T;
  readonly source: Source;
}

export interface ProductPage {
  readonly user: Part<Profile>;
  readonly orders: Part<readonly Order[]>;
  readonly inventory: Part<Availability>;
}

/** What a page may show instead of a downstream's answer; other errors (bugs) still surface. */
const DEGRADED = [ServiceError, TimeoutError, CallNotPermittedError];

/**
 * One breaker per downstream (from one registry), each call bounded by a time limiter, retried once
 * where that helps, and given a fallback: the cached profile, no recent orders, unknown availability.
 * The fallback is the outermost layer, so it also answers for an open breaker (CallNotPermittedError),
 * at once and without touching the service.
 */
export class Storefront {
  readonly breakers: CircuitBreakerRegistry;
  /** The retries of the user and order calls (to watch their events). */
  readonly retries: readonly Retry[];
  private readonly profileCache = new Map<string, Profile>();
  private readonly getProfile: (userId: string) => Promise<Part<Profile>>;
  private readonly getOrders: (userId: string) => Promise<Part<readonly Order[]>>;
  private readonly getAvailability: (sku: string) => Promise<Part<Availability>>;

  constructor(
    users: UserService,
    orders: OrderService,
    inventory: InventoryService,
    options: { readonly clock?: Clock } = {},
  ) {
    this.breakers = CircuitBreakerRegistry.of({
      clock: options.clock,
      configs: {
        default: {
          slidingWindowType: 'COUNT_BASED',
          slidingWindowSize: 6,
          minimumNumberOfCalls: 3,
          failureRateThreshold: 50,
          waitDurationInOpenState: 10_000,
          permittedNumberOfCallsInHalfOpenState: 1,
        },
      },
    });
    // Retrying into an open breaker is pointless, and a timeout has used up the time budget.
    const retryOnce = (name: string) =>
      Retry.of(name, {
        maxAttempts: 2,
        waitDuration: 5,
        ignoreExceptions: [CallNotPermittedError, TimeoutError],
      });
    const userRetry = retryOnce('user-service');
    const orderRetry = retryOnce('order-service');
    this.retries = [userRetry, orderRetry];

    // user-service down -> the profile cached from the last good answer.
    this.getProfile = Decorators.ofFunctionWithSignal(
      async (signal, userId: string): Promise<Part<Profile>> => {
        const profile = await users.getProfile(userId, signal);
        this.profileCache.set(userId, profile);
        return { value: profile, source: 'live' };
      },
    )
      .withTimeLimiter(TimeLimiter.of('user-service', { timeoutDuration: 200 }))
      .withCircuitBreaker(this.breakers.circuitBreaker('user-service'))
      .withRetry(userRetry)
      .withFallback(DEGRADED, (_error, _signal, userId) => this.cachedProfile(userId))
      .decorate();

    // order-service glitches -> the retry absorbs it; down -> no recent orders shown.
    this.getOrders = Decorators.ofFunctionWithSignal(
      async (signal, userId: string): Promise<Part<readonly Order[]>> => ({
        value: await orders.recentOrders(userId, signal),
        source: 'live',
      }),
    )
      .withTimeLimiter(TimeLimiter.of('order-service', { timeoutDuration: 200 }))
      .withCircuitBreaker(this.breakers.circuitBreaker('order-service'))
      .withRetry(orderRetry)
      .withFallback(DEGRADED, (): Part<readonly Order[]> => ({ value: [], source: 'default' }))
      .decorate();

    // inventory-service slow -> after 50 ms the request is aborted and availability shows as unknown;
    // once the breaker opens, unknown at once.
    this.getAvailability = Decorators.ofFunctionWithSignal(
      async (signal, sku: string): Promise<Part<Availability>> => ({
        value: await inventory.availability(sku, signal),
        source: 'live',
      }),
    )
      .withTimeLimiter(TimeLimiter.of('inventory-service', { timeoutDuration: 50 }))
      .withCircuitBreaker(this.breakers.circuitBreaker('inventory-service'))
      .withFallback(
        DEGRADED,
        (_error, _signal, sku): Part<Availability> => ({
          value: { sku, inStock: null },
          source: 'default',
        }),
      )
      .decorate();
  }

  async productPage(userId: string, sku: string): Promise<ProductPage> {
    const [user, orders, inventory] = await Promise.all([
      this.getProfile(userId),
      this.getOrders(userId),
      this.getAvailability(sku),
    ]);
    return { user, orders, inventory };
  }

  close(): void {
    for (const cb of this.breakers.getAllCircuitBreakers()) cb.close();
  }

  private cachedProfile(userId: string): Part<Profile> {
    const cached = this.profileCache.get(userId);
    return cached !== undefined
      ? { value: cached, source: 'cache' }
      : { value: { userId, name: 'Guest', tier: 'basic' }, source: 'default' };
  }
}
