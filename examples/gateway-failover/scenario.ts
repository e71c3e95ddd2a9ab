/**
 * The story: toss is preferred, then nice, then kcp. toss starts answering 503, its breaker opens
 * and payments go to nice without touching toss; a declined card is not failed over; nice has a
 * blip and kcp takes one payment; then toss recovers, its breaker lets one probe through after the
 * open wait and closes. Time is a ManualClock, so the story runs instantly and the same every time.
 */
import {
  type CircuitBreakerConfig,
  CircuitBreakerRegistry,
  type CircuitBreakerStateName,
  ManualClock,
} from '@breakwater/core';
import type { ScenarioOptions } from '../scenario-options.js';
import { FakeGateway, type Payment, PaymentDeclinedError } from './gateways.js';
import { type PaymentResult, PaymentRouter } from './router.js';

export const GATEWAY_BREAKER: CircuitBreakerConfig = {
  slidingWindowType: 'COUNT_BASED',
  slidingWindowSize: 4,
  minimumNumberOfCalls: 2,
  failureRateThreshold: 50,
  waitDurationInOpenState: 30_000,
  permittedNumberOfCallsInHalfOpenState: 1,
  // A declined card says nothing about the gateway's health.
  ignoreExceptions: [PaymentDeclinedError],
};

export interface PaymentRecord {
  readonly id: number;
  readonly result: PaymentResult;
}

export interface Transition {
  readonly gateway: string;
  readonly from: CircuitBreakerStateName;
  readonly to: CircuitBreakerStateName;
  /** The payment it happened during. */
  readonly duringPayment: number;
}

export interface ScenarioResult {
  readonly payments: readonly PaymentRecord[];
  readonly transitions: readonly Transition[];
  /** Requests that reached each gateway. */
  readonly gatewayCalls: Readonly<Record<string, number>>;
  readonly finalStates: Readonly<Record<string, CircuitBreakerStateName>>;
}

export async function run(options: ScenarioOptions = {}): Promise<ScenarioResult> {
  const log = options.log ?? (() => {});
  const clock = new ManualClock(Date.UTC(2024, 0, 1, 9));
  const breakers = CircuitBreakerRegistry.of({ clock, configs: { default: GATEWAY_BREAKER } });
  const gateways = ['toss', 'nice', 'kcp'].map((name) => new FakeGateway(name));
  const [toss, nice] = gateways;
  const router = new PaymentRouter(gateways, breakers);

  const payments: PaymentRecord[] = [];
  const transitions: Transition[] = [];
  /** The payment being made: payments are made one after the other. */
  let current = 0;
  // A transition happens during a payment, before the payment's result: printed as it happens,
  // it comes before the payment's line.
  breakers.onEvent((e) => {
    if (e.type !== 'STATE_TRANSITION') return;
    transitions.push({ gateway: e.name, from: e.from, to: e.to, duringPayment: current });
    log(`      [breaker ${e.name}: ${e.from} -> ${e.to}, during payment #${current}]`);
  });

  let nextId = 1;
  const pay = async (card: Payment['card'] = 'ok') => {
    const payment: Payment = { id: nextId++, amountKrw: 10_000 + 500 * nextId, card };
    current = payment.id;
    const result = await router.pay(payment);
    payments.push({ id: payment.id, result });
    log(`  #${String(payment.id).padEnd(2)} ${describe(result)}`);
  };

  log('-- all gateways healthy');
  for (let i = 0; i < 3; i++) await pay();

  log('-- toss starts answering 503');
  toss.healthy = false;
  for (let i = 0; i < 4; i++) await pay();

  log('-- a card that is declined (no failover: the gateway is fine)');
  await pay('declined');

  log('-- nice has a blip too');
  nice.healthy = false;
  await pay();
  nice.healthy = true;

  log('-- toss is back; 30 s later on the simulated clock (no real wait), its breaker lets a probe through');
  toss.healthy = true;
  clock.advance(30_000);
  for (let i = 0; i < 2; i++) await pay();

  const finalStates: Record<string, CircuitBreakerStateName> = {};
  for (const gw of gateways) finalStates[gw.name] = await breakers.circuitBreaker(gw.name).getState();
  for (const cb of breakers.getAllCircuitBreakers()) cb.close();
  return {
    payments,
    transitions,
    gatewayCalls: Object.fromEntries(gateways.map((g) => [g.name, g.calls])),
    finalStates,
  };
}

function describe(result: PaymentResult): string {
  const steps = result.attempts.map((a) => {
    if (a.outcome === 'approved') return `${a.gateway} approved`;
    if (a.outcome === 'declined') return `${a.gateway} declined the card`;
    if (a.outcome === 'skipped') return `${a.gateway} skipped (${a.detail})`;
    return `${a.gateway} failed (${a.detail})`;
  });
  const verdict = result.status === 'approved' ? `-> ${result.receipt.approvalNo}` : `-> ${result.status}`;
  return `${steps.join(', ')} ${verdict}`;
}
