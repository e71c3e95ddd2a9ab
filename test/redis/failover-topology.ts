/**
 * The Sentinel setup and the Redis Cluster that `failover.test.ts` runs against, behind one
 * interface: a user's client, the master of a key, kill -9 and the promoted replica, direct reads
 * of a master or a replica, and healing for the next test.
 */
import { Cluster, Redis } from 'ioredis';
import {
  type RedisClusterHandle,
  type RedisSentinelHandle,
  type RedisServer,
  startRedisCluster,
  startRedisSentinel,
} from '../support/redis-harness.js';

/** What the suite needs of a Sentinel setup or a Cluster. */
export interface Topology {
  readonly kind: string;
  /** A client made as a user makes it. */
  client(): Redis | Cluster;
  /** The second process's arguments (see fixtures/failover-worker.ts). */
  workerArgs(): string[];
  /** The data server that is the master for `key` now. */
  masterOf(key: string): Promise<RedisServer>;
  replicaOf(master: RedisServer): Promise<RedisServer>;
  kill(master: RedisServer): Promise<void>;
  /** Waits until a replica of `master` (killed) has taken over, and returns it. */
  waitForFailover(master: RedisServer): Promise<RedisServer>;
  /** Restarts the killed master as a replica, in sync: the next test starts from a healthy setup. */
  heal(killed: RedisServer): Promise<void>;
  /** GET of each key on `server`, a master or a replica. */
  read(server: RedisServer, keys: readonly string[]): Promise<(string | null)[]>;
  /** Waits until every replica holds what its master acknowledged so far. */
  waitForReplicas(): Promise<void>;
}

/** GETs over one connection to `server`, after `before` (e.g. READONLY on a Cluster replica). */
async function readOn(
  server: RedisServer,
  keys: readonly string[],
  before: string[] = [],
): Promise<(string | null)[]> {
  const client = server.client({ maxRetriesPerRequest: 0, retryStrategy: () => null });
  client.on('error', () => {});
  try {
    if (before.length > 0) await client.call(before[0], ...before.slice(1));
    return await Promise.all(keys.map((key) => client.get(key)));
  } finally {
    client.disconnect();
  }
}

const hostPorts = (list: readonly { host: string; port: number }[]) =>
  list.map(({ host, port }) => `${host}:${port}`).join(',');

function sentinelTopology(setup: RedisSentinelHandle): Topology {
  return {
    kind: 'Sentinel',
    client: () => new Redis({ sentinels: [...setup.sentinels], name: setup.masterName }),
    workerArgs: () => ['sentinel', setup.masterName, hostPorts(setup.sentinels)],
    masterOf: () => setup.master(),
    replicaOf: async (master) => setup.servers.find((s) => s !== master && s.running)!,
    kill: (master) => master.kill('SIGKILL'),
    waitForFailover: (master) => setup.waitForFailover(master),
    heal: (killed) => setup.restartServer(setup.servers.indexOf(killed)),
    read: (server, keys) => readOn(server, keys),
    waitForReplicas: () => setup.waitForReplicas(),
  };
}

function clusterTopology(setup: RedisClusterHandle): Topology {
  const index = (server: RedisServer) => setup.servers.indexOf(server);
  return {
    kind: 'Cluster',
    client: () => new Cluster(setup.nodes.map(({ host, port }) => ({ host, port }))),
    workerArgs: () => ['cluster', hostPorts(setup.nodes)],
    masterOf: async (key) => setup.servers[await setup.masterOf(key)],
    replicaOf: async (master) => {
      const replica = (await setup.roles()).find((role) => role.masterIndex === index(master));
      if (!replica) throw new Error(`no replica of ${master.port}`);
      return setup.servers[replica.index];
    },
    kill: (master) => setup.killNode(index(master)),
    waitForFailover: async (master) => setup.servers[await setup.waitForFailover(index(master))],
    heal: async (killed) => {
      await setup.restartNode(index(killed));
      await setup.waitForReplicas();
    },
    // a Cluster replica redirects reads to its master unless the connection is READONLY
    read: (server, keys) => readOn(server, keys, ['READONLY']),
    waitForReplicas: () => setup.waitForReplicas(),
  };
}

/** `count` policy names whose keys (`keyFor`) live on `master`: on a Cluster, names pick slots. */
export async function namesOn(
  topology: Topology,
  master: RedisServer,
  base: string,
  count: number,
  keyFor: (name: string) => string,
): Promise<string[]> {
  const names: string[] = [];
  for (let i = 0; names.length < count; i++) {
    if (i > 200) throw new Error(`no ${count} names ${base}-* on ${master.port}`);
    if ((await topology.masterOf(keyFor(`${base}-${i}`))) === master) names.push(`${base}-${i}`);
  }
  return names;
}

/** Each topology by name, and how to start it. */
export type Topologies = [string, () => Promise<{ topology: Topology; stop(): Promise<void> }>][];
export const topologies: Topologies = [
  [
    'Sentinel (a master, a replica, a sentinel)',
    async () => {
      const setup = await startRedisSentinel();
      return { topology: sentinelTopology(setup), stop: () => setup.stop() };
    },
  ],
  [
    'Redis Cluster (3 masters, one replica each)',
    async () => {
      const setup = await startRedisCluster({ masters: 3, replicas: 1, nodeTimeoutMs: 1_000 });
      return { topology: clusterTopology(setup), stop: () => setup.stop() };
    },
  ],
];
