/** Simulated downstream services whose behaviour the scenario switches by hand. */
import { HttpStatusError } from '../http-status-error.js';

export interface Profile {
  readonly userId: string;
  readonly name: string;
  readonly tier: 'basic' | 'gold';
}

export interface Order {
  readonly orderId: string;
  readonly sku: string;
}

export interface Availability {
  readonly sku: string;
  /** Units in stock; null when unknown. */
  readonly inStock: number | null;
}

/** A service answered an error status (HTTP 5xx). */
export class ServiceError extends HttpStatusError {}

/** Waits `ms`, or rejects with the signal's reason as soon as it aborts (a well-behaved client). */
function latency(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

abstract class FakeService {
  /** Requests that reached the service. */
  calls = 0;
  /** Requests the caller abandoned (its signal aborted) before the answer. */
  abandoned = 0;

  protected async respond<T>(ms: number, signal: AbortSignal, answer: () => T): Promise<T> {
    this.calls++;
    try {
      await latency(ms, signal);
    } catch (error) {
      this.abandoned++;
      throw error;
    }
    return answer();
  }
}

export class UserService extends FakeService {
  down = false;
  async getProfile(userId: string, signal: AbortSignal): Promise<Profile> {
    return this.respond(2, signal, () => {
      if (this.down) throw new ServiceError('user-service', 503);
      return { userId, name: `User ${userId.toUpperCase()}`, tier: userId === 'u1' ? 'gold' : 'basic' };
    });
  }
}

export class OrderService extends FakeService {
  /** The next `glitches` requests fail once each (a transient error a retry absorbs). */
  glitches = 0;
  async recentOrders(userId: string, signal: AbortSignal): Promise<Order[]> {
    return this.respond(2, signal, () => {
      if (this.glitches > 0) {
        this.glitches--;
        throw new ServiceError('order-service', 502);
      }
      return [{ orderId: `${userId}-o1`, sku: 'sku-42' }];
    });
  }
}

export class InventoryService extends FakeService {
  slow = false;
  async availability(sku: string, signal: AbortSignal): Promise<Availability> {
    return this.respond(this.slow ? 500 : 2, signal, () => ({ sku, inStock: 7 }));
  }
}
