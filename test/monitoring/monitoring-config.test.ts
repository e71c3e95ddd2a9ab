/**
 * The files in monitoring/: every metric the Grafana dashboard or an alert rule queries is one the
 * exporter really emits (compared with a real scrape of every policy kind and a RedisStore);
 * promtool accepts the rules and the Prometheus config, and the rules' unit tests pass; the
 * docker-compose stack and Grafana's provisioning fit together.
 */
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { METRIC_NAMES } from '@breakwater/prometheus';
import { RedisStore } from '@breakwater/store-redis';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { exerciseEveryPolicy, finishExercise } from '../support/metrics-fixture.js';
import { parseExposition } from '../support/prometheus-text.js';
import { dashboardQueries, metricNamesIn, type QuerySite, ruleQueries } from '../support/promql-names.js';
import { REPO_ROOT, startRedis, stopAll } from '../support/redis-harness.js';

const MONITORING = path.join(REPO_ROOT, 'monitoring');
const file = (...parts: string[]) => path.join(MONITORING, ...parts);
const readJson = (p: string) => JSON.parse(readFileSync(p, 'utf8'));
const readYaml = (p: string) => parseYaml(readFileSync(p, 'utf8'));

const dashboard = readJson(file('grafana', 'breakwater-dashboard.json'));
const alerts = readYaml(file('prometheus', 'alerts.yml'));

// A required tool, like redis-server: .ci/run installs it, the README says how. Missing, these tests fail and say so.
const PROMTOOL_MISSING = spawnSync('promtool', ['--version']).error !== undefined;
const run = promisify(execFile);
/** A test that needs promtool. */
const withPromtool = (name: string, fn: () => Promise<void>): void => {
  it(name, async () => {
    if (PROMTOOL_MISSING) {
      throw new Error('promtool is not installed: apt-get install -y --no-install-recommends prometheus');
    }
    await fn();
  });
};

/** Sample names of a real scrape: every policy kind exercised, on a RedisStore. */
let emitted: Set<string>;

beforeAll(async () => {
  const server = await startRedis();
  const client = server.client();
  const store = new RedisStore({ client, keyPrefix: 'monitoring-test' });
  const register = new Registry();
  const policies = await exerciseEveryPolicy(register, store);
  const scrape = parseExposition(await register.metrics());
  emitted = new Set(scrape.samples.map((s) => s.name));
  await finishExercise(policies);
  await store.close();
  client.disconnect();
});
afterAll(stopAll);

function unknownNames(sites: readonly QuerySite[]): string[] {
  const problems: string[] = [];
  for (const site of sites) {
    for (const name of metricNamesIn(site.expr)) {
      if (!emitted.has(name)) problems.push(`${site.where}: ${name}`);
    }
  }
  return problems;
}

describe('metricNamesIn (loose PromQL reading)', () => {
  it('finds the selected metrics and nothing else', () => {
    const expr =
      'histogram_quantile(0.99, sum by (le, name) (rate(a_seconds_bucket{name=~"$name", kind!="x"}[$__rate_interval])))' +
      ' > 1e-3 or on(name) max without (instance) (b_total offset 5m) / ignoring(kind) c unless vector(0) and bool d';
    expect(metricNamesIn(expr).sort()).toEqual(['a_seconds_bucket', 'b_total', 'c', 'd']);
  });
});

describe('the dashboard and the alert rules query what the exporter emits', () => {
  it('the scrape holds every metric the exporter defines (the reference is complete)', () => {
    for (const name of Object.values(METRIC_NAMES)) {
      const family = [name, `${name}_bucket`, `${name}_count`, `${name}_sum`];
      expect(
        family.some((n) => emitted.has(n)),
        name,
      ).toBe(true);
    }
  });

  it('every metric a dashboard panel or variable queries is emitted', () => {
    const sites = dashboardQueries(dashboard);
    expect(sites.length).toBeGreaterThanOrEqual(15);
    expect(unknownNames(sites)).toEqual([]);
  });

  it('every metric an alert rule queries is emitted', () => {
    const sites = ruleQueries(alerts);
    expect(sites.map((s) => s.where)).toEqual([
      'rule BreakwaterCircuitBreakerOpen',
      'rule BreakwaterCircuitBreakerForcedOpen',
      'rule BreakwaterFailureRateHigh',
      'rule BreakwaterStoreErrors',
      'rule BreakwaterStoreGuardOpen',
      'rule BreakwaterStoreLatencyHigh',
    ]);
    expect(unknownNames(sites)).toEqual([]);
  });

  it('a misspelt metric would be caught', () => {
    expect(
      unknownNames([{ where: 'typo', expr: 'rate(resilience4j_circuitbreaker_call_seconds_count[1m])' }]),
    ).toEqual(['typo: resilience4j_circuitbreaker_call_seconds_count']);
  });

  it('the dashboard covers what operators asked for', () => {
    const queried = new Set(dashboardQueries(dashboard).flatMap((s) => metricNamesIn(s.expr)));
    for (const name of [
      'resilience4j_circuitbreaker_state', // breaker states
      'resilience4j_circuitbreaker_failure_rate',
      'resilience4j_circuitbreaker_slow_call_rate',
      'resilience4j_circuitbreaker_calls_seconds_count', // calls by kind
      'resilience4j_circuitbreaker_not_permitted_calls_total',
      'resilience4j_retry_calls_total',
      'resilience4j_ratelimiter_available_permissions',
      'resilience4j_bulkhead_available_concurrent_calls',
      'breakwater_store_operation_duration_seconds_bucket', // store latency
      'breakwater_store_errors_total',
      'breakwater_cache_hits_total', // caches: hits and misses per tier, loads, stale answers, L2 errors
      'breakwater_cache_misses_total',
      'breakwater_cache_loader_duration_seconds_count',
      'breakwater_cache_loader_duration_seconds_bucket',
      'breakwater_cache_stale_served_total',
      'breakwater_cache_l2_errors_total',
    ]) {
      expect(queried.has(name), name).toBe(true);
    }
    const latency = dashboardQueries(dashboard)
      .filter((s) => s.expr.includes('breakwater_store_operation_duration_seconds_bucket'))
      .map((s) => /histogram_quantile\((0\.\d+)/.exec(s.expr)?.[1]);
    expect(latency).toEqual(['0.5', '0.95', '0.99']);
  });

  it('the dashboard is well formed: unique panel ids, a layout, a data source variable', () => {
    const ids = (dashboard.panels as { id: number }[]).map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const p of dashboard.panels as { gridPos?: { w: number; h: number }; type: string }[]) {
      expect(p.gridPos?.w).toBeGreaterThan(0);
      expect(p.gridPos?.w).toBeLessThanOrEqual(24);
    }
    expect(dashboard.uid).toBe('breakwater');
    const vars = (dashboard.templating.list as { name: string; type: string }[]).map(
      (v) => `${v.name}:${v.type}`,
    );
    expect(vars).toContain('datasource:datasource');
  });
});

describe('promtool', () => {
  withPromtool('check rules accepts monitoring/prometheus/alerts.yml', async () => {
    const { stdout } = await run('promtool', ['check', 'rules', file('prometheus', 'alerts.yml')]);
    expect(stdout).toMatch(/SUCCESS: 6 rules found/);
  });

  withPromtool('check config accepts monitoring/prometheus/prometheus.yml', async () => {
    const { stdout } = await run('promtool', ['check', 'config', file('prometheus', 'prometheus.yml')]);
    expect(stdout).toMatch(/SUCCESS/);
    expect(stdout).toMatch(/1 rule files found/);
  });

  withPromtool("the alert rules' unit tests pass (promtool test rules)", async () => {
    const { stdout } = await run('promtool', ['test', 'rules', file('prometheus', 'alerts.test.yml')]);
    expect(stdout).toMatch(/SUCCESS/);
  });
});

describe('docker-compose stack', () => {
  const compose = readYaml(file('docker-compose.yml'));

  it('parses, with Prometheus, Grafana and Redis, every port on 127.0.0.1', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['grafana', 'prometheus', 'redis']);
    for (const [name, service] of Object.entries(
      compose.services as Record<string, { image: string; ports?: string[] }>,
    )) {
      expect(service.image, name).toMatch(/^[\w./-]+:[\w.-]+$/); // pinned tags
      for (const port of service.ports ?? []) expect(port, name).toMatch(/^127\.0\.0\.1:/);
    }
  });

  it('mounts files that exist, and the Prometheus config with its rules', () => {
    for (const [name, service] of Object.entries(
      compose.services as Record<string, { volumes?: string[] }>,
    )) {
      for (const volume of service.volumes ?? []) {
        const source = volume.split(':')[0];
        if (source.startsWith('.'))
          expect(existsSync(path.join(MONITORING, source)), `${name}: ${source}`).toBe(true);
      }
    }
    const prometheus = compose.services.prometheus as { volumes: string[]; command: string[] };
    expect(prometheus.volumes).toContain('./prometheus/prometheus.yml:/etc/prometheus/prometheus.yml:ro');
    expect(prometheus.volumes).toContain('./prometheus/alerts.yml:/etc/prometheus/alerts.yml:ro');
    expect(prometheus.command).toContain('--config.file=/etc/prometheus/prometheus.yml');
    const config = readYaml(file('prometheus', 'prometheus.yml'));
    expect(config.rule_files).toEqual(['alerts.yml']);
  });

  it('provisions Grafana with the Prometheus data source and the dashboard', () => {
    const grafana = compose.services.grafana as { volumes: string[] };
    expect(grafana.volumes).toContain('./grafana/provisioning:/etc/grafana/provisioning:ro');
    const dashboardMount = grafana.volumes.find((v) => v.startsWith('./grafana/breakwater-dashboard.json:'));
    expect(dashboardMount).toBeDefined();
    const mountedAt = path.posix.dirname(dashboardMount!.split(':')[1]);

    const datasources = readYaml(file('grafana', 'provisioning', 'datasources', 'prometheus.yml'));
    expect(datasources.datasources).toHaveLength(1);
    expect(datasources.datasources[0]).toMatchObject({
      type: 'prometheus',
      url: 'http://prometheus:9090',
      isDefault: true,
    });

    const providers = readYaml(file('grafana', 'provisioning', 'dashboards', 'breakwater.yml'));
    expect(providers.providers[0]).toMatchObject({ type: 'file', options: { path: mountedAt } });
  });
});
