#!/usr/bin/env node
/**
 * Stand-in for Fedora Atomic Host's `atomic` (1.19/1.20, system containers with ostree storage). Run as
 * `node bin/sim/tools/atomic.js ARGS...` from a per-host wrapper named `atomic` (sim/CONTRACT.md).
 */
import { main } from "./atomic/main";

process.exitCode = main(process.argv.slice(2));
