import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { CircuitBreaker } from '@breakwater/core';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectMetrics, type MetricsHandle } from './collect-metrics.js';
import { metricsHandler } from './metrics-handler.js';

let server: http.Server;
let base: string;
let handle: MetricsHandle;
let failing: http.Server;

beforeAll(async () => {
  const register = new Registry();
  handle = collectMetrics(CircuitBreaker.ofDefaults('served'), { register });
  server = http.createServer(metricsHandler(register));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  handle.close();
  server.close();
  failing?.close();
});

describe('metricsHandler', () => {
  it('serves the registry in the text format on /metrics', async () => {
    const res = await fetch(`${base}/metrics?debug=1`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(await res.text()).toContain('resilience4j_circuitbreaker_state{name="served",state="closed"} 1');
  });

  it('answers HEAD without a body, 404 elsewhere, 405 to other methods', async () => {
    const head = await fetch(`${base}/metrics`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
    expect((await fetch(`${base}/other`)).status).toBe(404);
    const post = await fetch(`${base}/metrics`, { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
  });

  it('serves every path with path: false (for mounting under a router), and 500 when collecting fails', async () => {
    const register = new Registry();
    register.registerMetric({
      name: 'broken',
      get: () => Promise.reject(new Error('collector crashed')),
    } as unknown as Parameters<Registry['registerMetric']>[0]);
    failing = http.createServer(metricsHandler(register, { path: false }));
    failing.listen(0, '127.0.0.1');
    await once(failing, 'listening');
    const res = await fetch(`http://127.0.0.1:${(failing.address() as AddressInfo).port}/anything`);
    expect(res.status).toBe(500);
    expect(await res.text()).toMatch(/collector crashed/);
  });
});
