/**
 * The story: a product page needs the user's profile, their recent orders and the product's
 * availability, from three services. The user service goes down and the inventory service becomes
 * slow; the page keeps rendering from the cache and defaults, soon without even asking the failing
 * services (their breakers open); the order service's glitch is absorbed by a retry. Then everything
 * recovers. Breaker time is a ManualClock; only the inventory's 50 ms timeouts take real time.
 */
import { type CircuitBreakerStateName, ManualClock } from '@breakwater/core';
import type { ScenarioOptions } from '../scenario-options.js';
import { InventoryService, OrderService, UserService } from './services.js';
import { type ProductPage, type Source, Storefront } from './storefront.js';

export interface Round {
  readonly label: string;
  readonly userId: string;
  readonly sources: { readonly user: Source; readonly orders: Source; readonly inventory: Source };
  readonly page: ProductPage;
  readonly ms: number;
}

export interface ScenarioResult {
  readonly rounds: readonly Round[];
  /** Requests that reached each service. */
  readonly calls: { readonly user: number; readonly orders: number; readonly inventory: number };
  /** Inventory requests aborted by the time limiter (the service saw the abort). */
  readonly inventoryAbandoned: number;
  readonly transitions: readonly string[];
  readonly finalStates: Readonly<Record<string, CircuitBreakerStateName>>;
}

export async function run(options: ScenarioOptions = {}): Promise<ScenarioResult> {
  const log = options.log ?? (() => {});
  const clock = new ManualClock(Date.UTC(2024, 0, 1, 12));
  const users = new UserService();
  const orders = new OrderService();
  const inventory = new InventoryService();
  const store = new Storefront(users, orders, inventory, { clock });
  const transitions: string[] = [];
  store.breakers.onEvent((e) => {
    if (e.type !== 'STATE_TRANSITION') return;
    transitions.push(`${e.name}: ${e.from} -> ${e.to}`);
    log(`      [breaker ${e.name}: ${e.from} -> ${e.to}]`);
  });

  for (const retry of store.retries) {
    retry.on('RETRY', (e) => {
      const why = e.reason === 'error' && e.error instanceof Error ? e.error.message : e.reason;
      log(`      [retry ${e.name}: attempt ${e.attempt} failed (${why}), again in ${e.waitMs} ms]`);
    });
  }

  const rounds: Round[] = [];
  const render = async (label: string, userId: string) => {
    const t0 = performance.now();
    const page = await store.productPage(userId, 'sku-42');
    const ms = performance.now() - t0;
    const sources = { user: page.user.source, orders: page.orders.source, inventory: page.inventory.source };
    rounds.push({ label, userId, sources, page, ms });
    const stock = page.inventory.value.inStock ?? 'unknown';
    log(
      `  ${label.padEnd(26)} user ${page.user.value.name} (${sources.user}), ` +
        `${orderCount(page.orders.value.length)} (${sources.orders}), in stock ${stock} (${sources.inventory})` +
        `  ${ms.toFixed(0)} ms`,
    );
  };

  log('-- all services healthy');
  await render('page for u1', 'u1');

  log('-- user-service down, inventory-service slow, order-service glitches once');
  users.down = true;
  inventory.slow = true;
  orders.glitches = 1;
  await render('page for u1', 'u1');
  await render('page for u1 again', 'u1');
  await render('page for u1, breakers open', 'u1');
  await render('page for u2 (never cached)', 'u2');

  log(
    '-- services recover; 10 s later on the simulated clock (no real wait), the breakers let a probe through',
  );
  users.down = false;
  inventory.slow = false;
  clock.advance(10_000);
  await render('page for u1', 'u1');

  const finalStates: Record<string, CircuitBreakerStateName> = {};
  for (const cb of store.breakers.getAllCircuitBreakers()) finalStates[cb.name] = await cb.getState();
  store.close();
  return {
    rounds,
    calls: { user: users.calls, orders: orders.calls, inventory: inventory.calls },
    inventoryAbandoned: inventory.abandoned,
    transitions,
    finalStates,
  };
}

/** `1 order`, `2 orders`, `0 orders`. */
function orderCount(n: number): string {
  return `${n} order${n === 1 ? '' : 's'}`;
}
