import { type Counter, Gauge, type Registry } from 'prom-client';

/** Writes one series of a metric being scraped. */
export type SetSeries = (labels: Record<string, string>, value: number) => void;

/**
 * A gauge or a counter (`Kind`) whose series are all written afresh at each scrape by `fill`, from
 * numbers read then: a gauge is set to them, a counter counts up to them from 0 (it follows a count
 * kept elsewhere, so two sources of one name in a process add up).
 */
export function scrapedMetric(
  Kind: typeof Gauge | typeof Counter,
  registers: Registry[],
  name: string,
  help: string,
  labelNames: readonly string[],
  fill: (set: SetSeries) => void | Promise<void>,
): void {
  new Kind({
    name,
    help,
    labelNames,
    registers,
    async collect() {
      this.reset();
      const target = this as unknown as {
        inc(l: Record<string, string>, n: number): void;
        set(l: Record<string, string>, n: number): void;
      };
      await fill((labels, n) => (Kind === Gauge ? target.set(labels, n) : target.inc(labels, n)));
    },
  });
}

/**
 * `read`, shared by the calls made while one is in flight: prom-client starts every metric's
 * collect() of a scrape at the same time, and they all share one reading.
 */
export function readOncePerScrape<T>(read: () => Promise<T>): () => Promise<T> {
  let pending: Promise<T> | undefined;
  return () => {
    if (pending === undefined) {
      const current = read();
      pending = current;
      const clear = () => {
        if (pending === current) pending = undefined;
      };
      current.then(clear, clear);
    }
    return pending;
  };
}
