import type { FleetTransition, History } from './history.js';

/** One breaker's transitions made in Redis, each once (several workers hear each), in order. */
export function transitionsOf(history: History, name: string): FleetTransition[] {
  const seen = new Set<string>();
  return history.transitions
    .filter((t) => {
      const key = `${t.at} ${t.from} ${t.to}`;
      if (t.name !== name || seen.has(key)) return false;
      seen.add(key);
      return true;
    })
    .sort((a, b) => a.at - b.at);
}

/** Stretches during which Redis had the breaker CLOSED: from a transition to CLOSED to the next one away. */
export function closedStretches(history: History, name: string): { from: number; to: number }[] {
  const stretches: { from: number; to: number }[] = [];
  let from: number | undefined;
  for (const t of transitionsOf(history, name)) {
    if (t.to === 'CLOSED' && from === undefined) from = t.at;
    else if (t.to !== 'CLOSED' && from !== undefined) {
      stretches.push({ from, to: t.at });
      from = undefined;
    }
  }
  if (from !== undefined) stretches.push({ from, to: Number.POSITIVE_INFINITY });
  return stretches;
}
