// Tests are TypeScript, run through ts-node in transpile-only mode; `npm run typecheck` checks the types.
process.env.TS_NODE_PROJECT = require("path").join(__dirname, "tsconfig.json");
process.env.TS_NODE_TRANSPILE_ONLY = "true";
// The run's list of temporary folders to remove at its end (tests/helpers/tempDirs.ts, tests/globalTeardown.js).
process.env.PAH_TEST_TEMP_LIST ??= require("path").join(
  require("os").tmpdir(),
  `pah-test-temp-${process.pid}.list`,
);
module.exports = {
  require: ["ts-node/register", require("path").join(__dirname, "globalTeardown.js")],
  extension: ["ts"],
  timeout: 60000,
  reporter: require("path").join(__dirname, "reporter.js"),
};
