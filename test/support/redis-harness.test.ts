import { existsSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  detachReplicas,
  fieldsOf,
  RedisReplyError,
  type RedisServer,
  reattachReplicas,
  spawnWorker,
  startRedis,
  startRedisCluster,
  startRedisSentinel,
  stopAll,
  stopAllRedis,
} from './redis-harness.js';

afterAll(stopAll);

const LOCK_DIR = path.join(os.tmpdir(), 'breakwater-redis-ports');
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const ECHO_WORKER = 'test/support/fixtures/echo-worker.ts';

/** True while `pid` is a live (not yet reaped) process. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Live (non-zombie) children of this process, from /proc/<pid>/stat. */
function childProcesses(): { pid: number; cmdline: string }[] {
  const children: { pid: number; cmdline: string }[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(ppid) !== process.pid || state === 'Z') continue;
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replaceAll('\0', ' ');
      children.push({ pid: Number(entry), cmdline });
    } catch {
      // exited while we looked
    }
  }
  return children;
}

function isRedisServer(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('redis-server');
  } catch {
    return false;
  }
}

describe('startRedis', () => {
  it('starts its own server on a free port in a temp dir, answers PING, and stops cleanly', async () => {
    const server = await startRedis();
    const pid = server.pid!;
    expect(server.port).not.toBe(6379);
    expect(server.url).toBe(`redis://127.0.0.1:${server.port}`);
    expect(isRedisServer(pid)).toBe(true);
    expect(existsSync(server.dir)).toBe(true);
    expect(existsSync(path.join(LOCK_DIR, `${server.port}.lock`))).toBe(true);

    const client = server.client();
    expect(await client.ping()).toBe('PONG');
    const info = await server.info('server');
    expect(info.tcp_port).toBe(String(server.port));
    expect(info.redis_version).toMatch(/^\d+\./);
    expect(await server.command('CONFIG', 'GET', 'save')).toEqual(['save', '']);
    await expect(server.command('NO-SUCH-COMMAND')).rejects.toBeInstanceOf(RedisReplyError);

    await server.stop();
    expect(server.running).toBe(false);
    expect(alive(pid)).toBe(false);
    expect(client.status).toBe('end');
    expect(existsSync(server.dir)).toBe(false);
    expect(existsSync(path.join(LOCK_DIR, `${server.port}.lock`))).toBe(false);
    await server.stop(); // idempotent
  });

  it('fails a bad start with the server log tail, leaving nothing behind', async () => {
    const error = (await startRedis({ args: ['--no-such-directive', 'x'] }).catch(
      (e: unknown) => e,
    )) as Error;
    expect(error).toBeInstanceOf(Error);
    expect(error.message).toMatch(/exited .* before answering PING/);
    expect(error.message).toMatch(/log tail[\s\S]*no-such-directive/);
    const dir = /dir (\S+)\)/.exec(error.message)?.[1];
    expect(dir).toBeDefined();
    expect(existsSync(dir!)).toBe(false);
  });

  it('kill -9, then restart on the same port: the same client reconnects', async () => {
    await using server = await startRedis();
    const client = server.client({ maxRetriesPerRequest: 20, retryStrategy: () => 50 });
    await client.set('k', 'v');
    const { port } = server;
    const firstPid = server.pid!;

    await server.kill();
    expect(server.running).toBe(false);
    expect(server.pid).toBeUndefined();
    expect(alive(firstPid)).toBe(false);
    await expect(server.command('PING')).rejects.toThrow(/ECONNREFUSED/);

    await server.restart();
    expect(server.port).toBe(port);
    expect(server.pid).not.toBe(firstPid);
    expect(await client.ping()).toBe('PONG');
    expect(await client.get('k')).toBeNull(); // nothing is persisted
  });

  it('flushScripts makes EVALSHA answer NOSCRIPT', async () => {
    await using server = await startRedis();
    const client = server.client();
    const sha = (await client.script('LOAD', 'return 42')) as string;
    expect(await client.evalsha(sha, 0)).toBe(42);
    await server.flushScripts();
    await expect(client.evalsha(sha, 0)).rejects.toThrow(/NOSCRIPT/);
  });

  it('pause() freezes the server (commands time out), resume() thaws it', async () => {
    await using server = await startRedis();
    const client = server.client({ commandTimeout: 200 });
    expect(await client.ping()).toBe('PONG');
    await server.pause();
    await expect(client.ping()).rejects.toThrow(/timed out/i);
    await server.resume();
    expect(await client.ping()).toBe('PONG');
  });

  it('password: client() and command() authenticate', async () => {
    await using server = await startRedis({ password: 's3cret' });
    expect(await server.client().ping()).toBe('PONG');
    expect(await server.command('PING')).toBe('PONG');
    const wrong = server.client({ password: 'wrong', maxRetriesPerRequest: 0 });
    wrong.on('error', () => {}); // ioredis would log the failed AUTH as an unhandled error event
    await expect(wrong.ping()).rejects.toThrow(/WRONGPASS|invalid/i);
  });
});

describe('startRedisCluster', () => {
  it('forms a 3-master cluster; keys spread over all masters; a killed master restarts with its slots', async () => {
    await using cluster = await startRedisCluster({ masters: 3 });
    expect(cluster.nodes).toHaveLength(3);
    const ports = cluster.nodes.map((node) => node.port);
    expect(new Set(ports).size).toBe(3);
    expect(ports).not.toContain(6379);

    const client = cluster.cluster();
    const ranges = await client.cluster('SLOTS');
    const ownerOf = (slot: number) => {
      const range = ranges.find(([start, end]) => slot >= start && slot <= end);
      return range?.[2][1];
    };
    const keys = Array.from({ length: 30 }, (_, i) => `bw:{cb:breaker-${i}}:state`);
    const slots = await Promise.all(keys.map((key) => client.cluster('KEYSLOT', key)));
    const owners = new Set(slots.map(ownerOf));
    expect([...owners].sort()).toEqual([...ports].sort());

    await Promise.all(keys.map((key) => client.set(key, 'before')));
    for (const server of cluster.servers) expect(Number(await server.command('DBSIZE'))).toBeGreaterThan(0);

    const victim = 1;
    const victimSlots = keys.filter((_, i) => ownerOf(slots[i]) === ports[victim]);
    const oldPid = cluster.servers[victim].pid;
    await cluster.killNode(victim);
    expect(cluster.servers[victim].running).toBe(false);

    const restartedAt = Date.now();
    await cluster.restartNode(victim);
    const restartMs = Date.now() - restartedAt;
    expect(cluster.servers[victim].pid).not.toBe(oldPid);
    expect(cluster.nodes[victim].port).toBe(ports[victim]);
    // the restarted node still owns its slots (same nodes.conf), and lost its data (no persistence)
    const info = await cluster.servers[victim].command('CLUSTER', 'INFO');
    expect(String(info)).toContain('cluster_state:ok');
    expect(await client.get(victimSlots[0])).toBeNull();

    await Promise.all(keys.map((key) => client.set(key, 'after')));
    expect(await client.mget(keys[0])).toEqual(['after']);
    expect(new Set(await Promise.all(keys.map((key) => client.get(key))))).toEqual(new Set(['after']));
    console.info(`cluster node restart to cluster_state:ok: ${restartMs} ms`);
  }, 40_000);
});

describe('startRedisCluster with replicas', () => {
  it('one replica per master; a killed master is replaced by its replica, and comes back as its replica', async () => {
    await using cluster = await startRedisCluster({ masters: 3, replicas: 1, nodeTimeoutMs: 1_000 });
    expect(cluster.servers).toHaveLength(6);
    const roles = await cluster.roles();
    const masters = roles.filter((role) => role.role === 'master');
    expect(masters).toHaveLength(3);
    expect(masters.map((m) => m.slots).reduce((a, b) => a + b, 0)).toBe(16384);
    for (const master of masters) {
      expect(roles.filter((role) => role.masterIndex === master.index)).toHaveLength(1);
    }
    // replicas are in sync when the cluster is handed over
    for (const role of roles.filter((r) => r.role === 'replica')) {
      expect((await cluster.servers[role.index].info('replication')).master_link_status).toBe('up');
    }

    const client = cluster.cluster();
    const key = 'bw:{cb:failover}:state';
    const victim = await cluster.masterOf(key);
    const replica = roles.find((role) => role.masterIndex === victim)!.index;
    await client.set(key, 'before');
    await cluster.waitForReplicas(); // (SET is acknowledged before it is replicated)

    const killedAt = Date.now();
    await cluster.killNode(victim);
    expect(await cluster.waitForFailover(victim)).toBe(replica);
    const failoverMs = Date.now() - killedAt;
    expect(await cluster.masterOf(key)).toBe(replica);
    expect(await client.get(key)).toBe('before'); // the replica had it
    expect((await cluster.roles())[victim]).toMatchObject({ slots: 0, failing: true });

    await cluster.restartNode(victim);
    await cluster.waitForReplicas();
    expect((await cluster.roles())[victim]).toMatchObject({ role: 'replica', masterIndex: replica });
    await expect(cluster.servers[victim].command('GET', key)).rejects.toThrow(/MOVED/);
    console.info(`cluster failover after kill -9: ${failoverMs} ms`);
  }, 60_000);
});

describe('startRedisSentinel', () => {
  it('a master, a replica and a sentinel: kill -9 the master, the replica is promoted and a Sentinel client follows', async () => {
    await using sentinel = await startRedisSentinel({ masterName: 'harness' });
    expect(sentinel.servers).toHaveLength(2);
    expect(sentinel.sentinels).toHaveLength(1);
    const [first, second] = sentinel.servers;
    expect(await sentinel.master()).toBe(first);
    expect((await second.info('replication')).master_link_status).toBe('up');
    expect(String(await sentinel.sentinelServers[0].command('INFO', 'server'))).toMatch(
      /redis_mode:sentinel/,
    );

    const client = sentinel.client();
    client.on('error', () => {}); // ioredis reports every failed reconnect while the master is down
    await client.set('k', 'v');
    await sentinel.waitForReplicas();
    expect(await second.command('GET', 'k')).toBe('v');

    const killedAt = Date.now();
    expect(await sentinel.killMaster()).toBe(first);
    expect(first.running).toBe(false);
    expect(await sentinel.waitForFailover(first)).toBe(second);
    const failoverMs = Date.now() - killedAt;
    expect(await sentinel.master()).toBe(second);
    expect((await second.info('replication')).role).toBe('master');
    // the client asks the sentinel again when its connection is lost: it writes to the new master
    await expect.poll(() => client.set('k', 'after').catch(() => 'not yet'), { timeout: 5_000 }).toBe('OK');
    expect(await second.command('GET', 'k')).toBe('after');

    // the old master comes back (empty) as a replica of the new one
    await sentinel.restartServer(0);
    expect(await first.info('replication')).toMatchObject({
      role: 'slave',
      master_port: String(second.port),
      master_link_status: 'up',
    });
    expect(await first.command('GET', 'k')).toBe('after');
    console.info(`sentinel failover after kill -9: ${failoverMs} ms`);
  }, 60_000);

  it('detachReplicas: what the master acknowledges next reaches no replica, until reattachReplicas', async () => {
    await using sentinel = await startRedisSentinel();
    const [master, replica] = sentinel.servers;
    const client = sentinel.client();
    await client.set('k', 'before');
    await sentinel.waitForReplicas();

    await detachReplicas(master);
    await client.set('k', 'during'); // the master serves clients as before
    await sleep(1_200); // the replica's resync attempt (once a second) is refused
    expect(await master.command('GET', 'k')).toBe('during');
    expect(await replica.command('GET', 'k')).toBe('before');
    expect((await replica.info('replication')).master_link_status).toBe('down');

    await reattachReplicas(master);
    await sentinel.waitForReplicas(15_000); // a replica refused a few times may wait longer for its next try
    expect(await replica.command('GET', 'k')).toBe('during');
  }, 30_000);

  it('three sentinels with a quorum of two agree on the failover', async () => {
    await using sentinel = await startRedisSentinel({ sentinels: 3 });
    expect(sentinel.sentinels).toHaveLength(3);
    const master = fieldsOf(
      await sentinel.sentinelServers[2].command('SENTINEL', 'MASTER', sentinel.masterName),
    );
    expect(master).toMatchObject({ quorum: '2', 'num-other-sentinels': '2', 'num-slaves': '1' });
    const killed = await sentinel.killMaster();
    const promoted = await sentinel.waitForFailover(killed);
    expect(promoted).toBe(sentinel.servers[1]);
  }, 60_000);
});

describe('spawnWorker', () => {
  it('round-trips JSON messages with a TypeScript worker that resolves workspace sources', async () => {
    const worker = spawnWorker(ECHO_WORKER, ['a', 'b'], { ECHO_TAG: 'hello' });
    const ready = await worker.waitFor((m) => m.type === 'ready');
    expect(ready).toEqual({ type: 'ready', pid: worker.pid, args: ['a', 'b'], tag: 'hello' });

    worker.send({ type: 'ping', n: 1 });
    worker.send({ type: 'ping', n: 2 });
    const echo = await worker.waitFor((m) => m.type === 'echo' && (m.message as { n: number }).n === 2);
    expect(echo).toEqual({ type: 'echo', message: { type: 'ping', n: 2 } });

    worker.send({ type: 'import', specifier: '@breakwater/core' });
    const imported = await worker.waitFor((m) => m.type === 'imported');
    expect(imported.exports).toContain('CircuitBreaker');

    worker.send({ type: 'exit', code: 3 });
    expect(await worker.exit).toBe(3);
    const all = [];
    for await (const message of worker) all.push(message.type);
    expect(all).toEqual(['ready', 'echo', 'echo', 'imported']);
    expect(() => worker.send({ type: 'late' })).toThrow(/exited/);
    await expect(worker.waitFor((m) => m.type === 'never', 1000)).rejects.toThrow(/exited with 3/);
  });

  it('kill() and end() both finish a worker; a missing message times out with a clear error', async () => {
    const killed = spawnWorker(ECHO_WORKER);
    const ended = spawnWorker(ECHO_WORKER);
    await Promise.all([killed.waitFor((m) => m.type === 'ready'), ended.waitFor((m) => m.type === 'ready')]);
    await expect(killed.next((m) => m.type === 'never', 100)).rejects.toThrow(/did not arrive within 100 ms/);
    expect(await killed.kill()).toBe(128 + os.constants.signals.SIGKILL);
    ended.end();
    expect(await ended.exit).toBe(0);
  });
});

describe('stopAllRedis', () => {
  it('leaves no redis-server (or worker) started by the harness running', async () => {
    const servers: RedisServer[] = await Promise.all([startRedis(), startRedis(), startRedis()]);
    expect(new Set(servers.map((server) => server.port)).size).toBe(3);
    const worker = spawnWorker(ECHO_WORKER);
    await worker.waitFor((m) => m.type === 'ready');
    expect(childProcesses().map((child) => child.pid)).toEqual(
      expect.arrayContaining([...servers.map((server) => server.pid), worker.pid]),
    );
    await servers[2].kill(); // a killed-but-not-stopped server must be cleaned up too
    const pids = servers.map((server) => server.pid).filter((pid) => pid !== undefined);
    expect(pids).toHaveLength(2);
    for (const pid of pids) expect(isRedisServer(pid)).toBe(true);

    await stopAllRedis();
    for (const pid of pids) {
      expect(alive(pid)).toBe(false);
      expect(isRedisServer(pid)).toBe(false);
    }
    for (const server of servers) {
      expect(existsSync(server.dir)).toBe(false);
      expect(existsSync(path.join(LOCK_DIR, `${server.port}.lock`))).toBe(false);
    }

    await stopAll();
    expect(alive(worker.pid)).toBe(false);
    expect(await worker.exit).toBe(128 + os.constants.signals.SIGKILL);
    expect(childProcesses()).toEqual([]);
  });
});
