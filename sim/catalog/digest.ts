/** Content digests: every checksum and digest in the simulator is derived from content this way. */
import { createHash } from "crypto";

/** sha256 hex of a string: every checksum and digest in the simulator is derived from content this way. */
export function sha256Hex(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}
