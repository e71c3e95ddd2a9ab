/**
 * Every TypeScript snippet of the documentation (README.md, docs/, each package's README) compiles
 * under `strict`, against the workspace's packages as a user imports them: docs cannot rot.
 *
 * Each ```ts block is one module, complete with its imports: Breakwater's policies and stores are
 * created in the block that uses them. What stands for the user's own code (their `fetchTicker`,
 * their `db`) comes from the ambient declarations below, typed as a user's own code would have
 * them, so what the snippet does with them is checked too. A block fenced ```ts nocheck is shown
 * but not compiled (say why beside it).
 */
import { execFile } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../support/redis-harness.js';
import { markdownFiles, readMarkdown } from './markdown.js';

const run = promisify(execFile);
const OUT = path.join(REPO_ROOT, 'test/docs/.snippets');

/** The user's own things that pages call without defining them (nothing of Breakwater's belongs here). */
const AMBIENT = `
declare global {
  interface Ticker {
    readonly market: string;
    readonly price: number;
  }
  interface User {
    readonly id: string;
    readonly name: string;
  }
  interface Order {
    readonly id: string;
    readonly amount: number;
  }
  function fetchTicker(market: string, signal?: AbortSignal): Promise<Ticker>;
  function placeOrder(order: Order): Promise<{ readonly orderId: string }>;
  function renderReport(id: string): Promise<Uint8Array>;
  function callRemote(...args: unknown[]): Promise<string>;
  const order: Order;
  const gateway: { charge(order: Order, options?: { signal?: AbortSignal }): Promise<{ readonly id: string }> };
  const cache: { get(key: string): Promise<Ticker | undefined> };
  const db: { findUser(id: string, options?: { signal?: AbortSignal }): Promise<User> };
}
export {};
`;

interface Snippet {
  readonly file: string;
  readonly line: number;
  readonly code: string;
}

function snippetsOf(file: string): Snippet[] {
  const text = readMarkdown(file);
  const snippets: Snippet[] = [];
  const fence = /^```(ts|typescript)([^\n]*)\n([\s\S]*?)^```/gm;
  for (const match of text.matchAll(fence)) {
    if (match[2]?.includes('nocheck')) continue;
    const line = text.slice(0, match.index).split('\n').length;
    snippets.push({ file, line, code: match[3] ?? '' });
  }
  return snippets;
}

describe('documentation snippets', () => {
  it('every TypeScript block of README.md, docs/ and the packages compiles under strict', async () => {
    const snippets = markdownFiles().flatMap(snippetsOf);
    expect(snippets.length).toBeGreaterThan(10);
    rmSync(OUT, { recursive: true, force: true });
    mkdirSync(OUT, { recursive: true });
    writeFileSync(path.join(OUT, 'ambient.d.ts'), AMBIENT);
    const where = new Map<string, Snippet>();
    snippets.forEach((snippet, i) => {
      const name = `${snippet.file.replace(/[/.]/g, '_')}_${snippet.line}_${i}.ts`;
      where.set(name, snippet);
      // A module of its own (top-level await allowed), whatever the snippet imports.
      writeFileSync(path.join(OUT, name), `${snippet.code}\nexport {};\n`);
    });
    writeFileSync(
      path.join(OUT, 'tsconfig.json'),
      JSON.stringify({
        extends: '../../../tsconfig.base.json',
        compilerOptions: { noEmit: true, strict: true, customConditions: ['breakwater-source'] },
        include: ['*.ts'],
      }),
    );
    const result = await run('npx', ['tsc', '-p', path.join(OUT, 'tsconfig.json')], { cwd: REPO_ROOT }).then(
      () => '',
      (error: { stdout?: string }) => error.stdout ?? String(error),
    );
    // Point each error at the page and line it comes from.
    const located = result
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => {
        const m = /^test\/docs\/\.snippets\/([^(]+)\((\d+),\d+\): (.*)$/.exec(line);
        const snippet = m === null ? undefined : where.get(m[1] ?? '');
        return snippet === undefined || m === null
          ? line
          : `${snippet.file}:${snippet.line + Number(m[2])}: ${m[3]}`;
      });
    expect(located).toEqual([]);
  }, 120_000);
});
