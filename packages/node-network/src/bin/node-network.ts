#!/usr/bin/env node
import { main } from '../cli.js';

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e) => {
    process.stderr.write(`${(e as Error).name}: ${(e as Error).message}\n`);
    process.exitCode = 1;
  },
);
