/**
 * End to end with a real Prometheus (Debian's `prometheus` package): examples/metrics serves
 * /metrics on 127.0.0.1, a Prometheus on 127.0.0.1 scrapes it every second with our alert rules
 * loaded, and its HTTP API returns the breaker's state series. Every dashboard query is run
 * against it too, so a query Prometheus would reject fails here. Both processes are stopped after.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { freePort } from '../../examples/fleet/local-redis.js';
import { dashboardQueries, ruleQueries, withGrafanaVariables } from '../support/promql-names.js';
import { REPO_ROOT } from '../support/redis-harness.js';

// A required tool, like redis-server: .ci/run installs it, the README says how. Missing, the tests fail and say so.
const PROMETHEUS_MISSING = spawnSync('prometheus', ['--version']).error !== undefined;
const MISSING_REASON =
  'the prometheus binary is not installed: apt-get install -y --no-install-recommends prometheus';

const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL');
});

function start(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv = {},
): { child: ChildProcess; output: () => string } {
  const child = spawn(command, args, {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  child.once('exit', () => children.delete(child));
  let out = '';
  const keep = (chunk: Buffer) => {
    out = (out + chunk.toString()).slice(-20_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return { child, output: () => out };
}

async function stop(child: ChildProcess | undefined): Promise<void> {
  if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}

/** Polls `probe` until it returns a value, for at most `timeoutMs`. */
async function waitFor<T>(
  what: string,
  timeoutMs: number,
  probe: () => Promise<T | undefined>,
  log: () => string,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (${String(lastError)})\n${log()}`);
}

interface ApiReply<T> {
  status: 'success' | 'error';
  data: T;
  error?: string;
}
interface VectorSample {
  metric: Record<string, string>;
  value: [number, string];
}

describe('Prometheus scraping examples/metrics', () => {
  let dir: string;
  let example: ReturnType<typeof start> | undefined;
  let prometheus: ReturnType<typeof start> | undefined;
  let api: string;
  const logs = () =>
    `--- example:\n${example?.output() ?? ''}\n--- prometheus:\n${prometheus?.output() ?? ''}`;

  const query = async (promql: string): Promise<ApiReply<{ resultType: string; result: VectorSample[] }>> => {
    const res = await fetch(`${api}/api/v1/query?query=${encodeURIComponent(promql)}`);
    return (await res.json()) as ApiReply<{ resultType: string; result: VectorSample[] }>;
  };

  beforeAll(async () => {
    if (PROMETHEUS_MISSING) throw new Error(MISSING_REASON);
    dir = mkdtempSync(path.join(os.tmpdir(), 'breakwater-prometheus-'));

    // 1. the example service, on a free port
    example = start(
      process.execPath,
      ['--conditions=breakwater-source', '--import', 'tsx', 'examples/metrics/main.ts'],
      {
        METRICS_HOST: '127.0.0.1',
        METRICS_PORT: '0',
        REDIS_URL: '',
      },
    );
    const metricsUrl = await waitFor(
      'the example to listen',
      20_000,
      async () => /metrics: (http:\/\/127\.0\.0\.1:\d+\/metrics)/.exec(example!.output())?.[1],
      logs,
    );
    const target = new URL(metricsUrl).host;

    // 2. Prometheus scraping it every second, with our alert rules
    const port = await freePort();
    api = `http://127.0.0.1:${port}`;
    const config = {
      global: { scrape_interval: '1s', evaluation_interval: '1s' },
      rule_files: [path.join(REPO_ROOT, 'monitoring', 'prometheus', 'alerts.yml')],
      scrape_configs: [{ job_name: 'breakwater-example', static_configs: [{ targets: [target] }] }],
    };
    writeFileSync(path.join(dir, 'prometheus.yml'), JSON.stringify(config)); // JSON is YAML
    prometheus = start('prometheus', [
      `--config.file=${path.join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${path.join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ]);
    await waitFor(
      'Prometheus to be ready',
      20_000,
      async () => ((await fetch(`${api}/-/ready`)).ok ? true : undefined),
      logs,
    );
  }, 45_000);

  afterAll(async () => {
    await Promise.all([stop(prometheus?.child), stop(example?.child)]);
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it('finds the breaker state series through the HTTP API', async () => {
    const series = await waitFor(
      'resilience4j_circuitbreaker_state{name="pricing"}',
      30_000,
      async () => {
        const reply = await query('resilience4j_circuitbreaker_state');
        const pricing = reply.data.result.filter((s) => s.metric.name === 'pricing');
        return pricing.length === 6 ? pricing : undefined;
      },
      logs,
    );
    expect(new Set(series.map((s) => s.metric.state))).toEqual(
      new Set(['closed', 'open', 'half_open', 'disabled', 'forced_open', 'metrics_only']),
    );
    expect(series.every((s) => s.metric.job === 'breakwater-example')).toBe(true);
    // exactly one state is current
    expect(series.reduce((sum, s) => sum + Number(s.value[1]), 0)).toBe(1);
  }, 35_000);

  it('runs every dashboard query without an error, and the state panel has the breakers', async () => {
    const dashboard = JSON.parse(
      readFileSync(path.join(REPO_ROOT, 'monitoring/grafana/breakwater-dashboard.json'), 'utf8'),
    );
    const failures: string[] = [];
    for (const site of dashboardQueries(dashboard)) {
      const reply = await query(withGrafanaVariables(site.expr));
      if (reply.status !== 'success') failures.push(`${site.where}: ${reply.error}`);
    }
    expect(failures).toEqual([]);
    const statePanel = dashboardQueries(dashboard).find((s) => s.where.startsWith('panel "Breaker states"'))!;
    const states = await query(withGrafanaVariables(statePanel.expr));
    expect(states.data.result.map((s) => s.metric.name).sort()).toEqual(['inventory', 'pricing']);
  });

  it('loads and evaluates every alert rule', async () => {
    const alerts = parseYaml(readFileSync(path.join(REPO_ROOT, 'monitoring/prometheus/alerts.yml'), 'utf8'));
    const expected = ruleQueries(alerts).map((s) => s.where.replace(/^rule /, ''));
    type Rules = ApiReply<{ groups: { rules: { name: string; health: string; lastError?: string }[] }[] }>;
    const rules = await waitFor(
      'the alert rules to be evaluated',
      15_000,
      async () => {
        const reply = (await (await fetch(`${api}/api/v1/rules`)).json()) as Rules;
        const all = reply.data.groups.flatMap((g) => g.rules);
        return all.length === expected.length && all.every((r) => r.health !== 'unknown') ? all : undefined;
      },
      logs,
    );
    expect(rules.map((r) => r.name)).toEqual(expected);
    expect(rules.filter((r) => r.health !== 'ok')).toEqual([]);
  });
});
