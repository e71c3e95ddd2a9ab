/** Simulated payment gateways whose health the scenario switches by hand. */
import { HttpStatusError } from '../http-status-error.js';

export interface Payment {
  readonly id: number;
  readonly amountKrw: number;
  /** 'declined' makes every gateway refuse the card: the customer's problem, not the gateway's. */
  readonly card: 'ok' | 'declined';
}

export interface Receipt {
  readonly paymentId: number;
  readonly gateway: string;
  readonly approvalNo: string;
}

/** The gateway is unavailable (HTTP 5xx, connection refused): worth trying the next gateway. */
export class GatewayUnavailableError extends HttpStatusError {}

/** The card was declined: another gateway would decline it too, and the gateway is healthy. */
export class PaymentDeclinedError extends Error {
  override name = 'PaymentDeclinedError';
  constructor(
    readonly gateway: string,
    readonly paymentId: number,
  ) {
    super(`${gateway} declined payment #${paymentId}`);
  }
}

export class FakeGateway {
  /** Requests that reached this gateway. */
  calls = 0;
  healthy = true;

  constructor(readonly name: string) {}

  async charge(payment: Payment, signal: AbortSignal): Promise<Receipt> {
    this.calls++;
    await Promise.resolve(); // a network round trip, minus the waiting
    if (signal.aborted) throw signal.reason;
    if (!this.healthy) throw new GatewayUnavailableError(this.name, 503);
    if (payment.card === 'declined') throw new PaymentDeclinedError(this.name, payment.id);
    return { paymentId: payment.id, gateway: this.name, approvalNo: `${this.name}-${1000 + payment.id}` };
  }
}
