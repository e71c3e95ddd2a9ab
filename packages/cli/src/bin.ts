#!/usr/bin/env node
/** The `breakwater` command. */
import { main } from './cli.js';

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
});
process.exitCode = code;
// Leave once the output is out: a failed connection attempt can leave a socket timer behind
// (ioredis's connect timeout) that would hold the process for its full length.
process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
