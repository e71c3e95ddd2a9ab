import {
  CallNotPermittedError,
  type CircuitBreakerRegistry,
  type DecoratedFunctionWithSignal,
  Decorators,
  TimeLimiter,
} from '@breakwater/core';
import { type FakeGateway, type Payment, PaymentDeclinedError, type Receipt } from './gateways.js';

export type AttemptOutcome = 'approved' | 'declined' | 'failed' | 'skipped';

export interface Attempt {
  readonly gateway: string;
  readonly outcome: AttemptOutcome;
  /** Why it failed or was skipped. */
  readonly detail?: string;
}

export type PaymentResult =
  | { readonly status: 'approved'; readonly receipt: Receipt; readonly attempts: readonly Attempt[] }
  | { readonly status: 'declined' | 'failed'; readonly attempts: readonly Attempt[] };

interface Route {
  readonly gateway: string;
  readonly charge: DecoratedFunctionWithSignal<[payment: Payment], Receipt>;
}

/**
 * Tries the gateways in order of preference. Each gateway call is TimeLimiter-bounded and goes
 * through that gateway's own breaker, so a gateway that keeps failing is skipped without a request
 * (CallNotPermittedError: next gateway) until its breaker lets a probe through again.
 */
export class PaymentRouter {
  private readonly routes: readonly Route[];

  constructor(gateways: readonly FakeGateway[], breakers: CircuitBreakerRegistry, timeoutMs = 3_000) {
    this.routes = gateways.map((gw) => ({
      gateway: gw.name,
      // Breaker outside the time limiter: a gateway that hangs counts as a failing gateway.
      charge: Decorators.ofFunctionWithSignal((signal, payment: Payment) => gw.charge(payment, signal))
        .withTimeLimiter(TimeLimiter.of(`${gw.name}-timeout`, { timeoutDuration: timeoutMs }))
        .withCircuitBreaker(breakers.circuitBreaker(gw.name))
        .decorateWithSignal(),
    }));
  }

  async pay(payment: Payment, signal?: AbortSignal): Promise<PaymentResult> {
    const attempts: Attempt[] = [];
    for (const route of this.routes) {
      try {
        const receipt = await route.charge(signal, payment);
        attempts.push({ gateway: route.gateway, outcome: 'approved' });
        return { status: 'approved', receipt, attempts };
      } catch (error) {
        // The caller gave up: no further gateway.
        if (signal?.aborted) throw error;
        if (error instanceof PaymentDeclinedError) {
          // Not a gateway problem: failing over would only charge the card's refusal elsewhere.
          attempts.push({ gateway: route.gateway, outcome: 'declined', detail: error.message });
          return { status: 'declined', attempts };
        }
        if (error instanceof CallNotPermittedError) {
          attempts.push({ gateway: route.gateway, outcome: 'skipped', detail: `breaker ${error.state}` });
        } else {
          attempts.push({
            gateway: route.gateway,
            outcome: 'failed',
            detail: error instanceof Error ? error.message : String(error),
          });
        }
      }
    }
    return { status: 'failed', attempts };
  }
}
