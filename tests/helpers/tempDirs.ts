/**
 * Temporary folders of a test process (simulated clusters, Pulumi programs, state backends, tool sandboxes), all
 * removed at the end of the mocha run, whatever the tests' own `after` hooks did, so a run leaves nothing under the
 * temp dir. Each folder is listed in the run's list file (`PAH_TEST_TEMP_LIST`, named by tests/.mocharc.js, which
 * every worker of a parallel run inherits); the run's global teardown (tests/globalTeardown.js) removes what the
 * list names. Without a list file (this module used outside mocha), folders go when the process exits.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

const made: string[] = [];
let hooked = false;

/** A new folder `<tmpdir>/<prefix>-XXXXXX`, removed at the end of the test run. */
export function tempDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `${prefix}-`));
  const list = process.env.PAH_TEST_TEMP_LIST;
  if (list) {
    fs.appendFileSync(list, `${dir}\n`);
    return dir;
  }
  made.push(dir);
  if (!hooked) {
    hooked = true;
    process.once("exit", () => {
      for (const d of made) fs.rmSync(d, { recursive: true, force: true });
    });
  }
  return dir;
}
