// Mocha global teardown (run once, in the main process, after every file, in serial and parallel runs): removes
// the temporary folders the run's test processes listed (tests/helpers/tempDirs.ts).
"use strict";
const fs = require("fs");

exports.mochaGlobalTeardown = function () {
  const list = process.env.PAH_TEST_TEMP_LIST;
  if (!list || !fs.existsSync(list)) return;
  for (const dir of fs.readFileSync(list, "utf8").split("\n")) {
    if (dir !== "") fs.rmSync(dir, { recursive: true, force: true });
  }
  fs.rmSync(list, { force: true });
};
