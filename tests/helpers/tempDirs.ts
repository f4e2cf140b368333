/**
 * Temporary folders of a test process (simulated clusters, Pulumi programs, state backends): each is removed when
 * the process exits, whatever the tests' own `after` hooks did, so a run leaves nothing under the temp dir.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

const made: string[] = [];
let hooked = false;

/** A new folder `<tmpdir>/<prefix>-XXXXXX`, removed at process exit. */
export function tempDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `${prefix}-`));
  made.push(dir);
  if (!hooked) {
    hooked = true;
    process.once("exit", () => {
      for (const d of made) fs.rmSync(d, { recursive: true, force: true });
    });
  }
  return dir;
}
