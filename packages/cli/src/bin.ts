#!/usr/bin/env node
/** The `breakwater` command. */
import { createInterface } from 'node:readline/promises';
import { main } from './cli.js';

/** A yes-or-no question on the terminal (the question on stderr, so that stdout stays the output). */
async function confirm(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  const abort = new AbortController();
  // Ctrl-C or Ctrl-D at the question: a no, not a hang
  rl.once('SIGINT', () => abort.abort());
  rl.once('close', () => abort.abort());
  try {
    return /^y(es)?$/i.test((await rl.question(question, { signal: abort.signal })).trim());
  } catch {
    return false;
  } finally {
    rl.close();
  }
}

let interrupt = () => {};
const interrupted = new Promise<void>((resolve) => {
  interrupt = resolve;
});
let interrupts = 0;
process.on('SIGINT', () => {
  interrupts++;
  interrupt(); // watch stops at once and restores the terminal
  // anything else (or a second Ctrl-C): leave shortly
  setTimeout(() => process.exit(130), interrupts > 1 ? 0 : 1000).unref();
});

const code = await main(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  interrupted,
  confirm: process.stdin.isTTY ? confirm : undefined,
});
process.exitCode = code;
// Leave once the output is out: a failed connection attempt can leave a socket timer behind
// (ioredis's connect timeout) that would hold the process for its full length.
process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
