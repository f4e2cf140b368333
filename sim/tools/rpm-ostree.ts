#!/usr/bin/env node
/**
 * Stand-in for Fedora Atomic Host's `rpm-ostree` (v2017.10; v2018.7 when the host says so). Run as
 * `node bin/sim/tools/rpm-ostree.js ARGS...` from a per-host wrapper named `rpm-ostree` (sim/CONTRACT.md).
 */
import { main } from "./rpmostree/main";

process.exitCode = main(process.argv.slice(2));
