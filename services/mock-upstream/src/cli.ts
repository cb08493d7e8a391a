#!/usr/bin/env node
import { runMockUpstreamCli } from './run-mock-upstream-cli.js';

try {
  await runMockUpstreamCli(process.argv.slice(2));
} catch (err) {
  console.error(`mock-upstream: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 2;
}
