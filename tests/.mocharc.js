// Tests are TypeScript, run through ts-node in transpile-only mode; `npm run typecheck` checks the types.
process.env.TS_NODE_PROJECT = require("path").join(__dirname, "tsconfig.json");
process.env.TS_NODE_TRANSPILE_ONLY = "true";
module.exports = {
  require: ["ts-node/register"],
  extension: ["ts"],
  timeout: 60000,
  reporter: require("path").join(__dirname, "reporter.js"),
};
