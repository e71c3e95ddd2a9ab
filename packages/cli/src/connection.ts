import type { Cluster, Redis } from 'ioredis';

/** A connection to one Redis node, or to a Cluster (keys routed to their slots). */
export type Connection = Redis | Cluster;

export function isCluster(conn: Connection): conn is Cluster {
  return (conn as { isCluster?: boolean }).isCluster === true;
}

/** Redis's clock (epoch ms): the clock every policy decision is made on. */
export async function redisNow(conn: Connection): Promise<number> {
  const [seconds, micros] = await (conn as Redis).time();
  return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
}

/** Time left before a key expires (ms) from its PTTL; null when it never expires. */
export function ttlOf(pttl: number): number | null {
  return pttl >= 0 ? pttl : null;
}

/** The error Redis answers a command with on a key of another type. */
export function isWrongType(error: unknown): boolean {
  return error instanceof Error && /^WRONGTYPE/.test(error.message);
}
