import { expect } from "chai";
import { dialFailureReason } from "../../../provider/ssh";

// The words of the per-attempt progress line ("root@10.0.0.3:22: dial attempt 3/10 failed: connection refused").
describe("dialFailureReason", () => {
  const rows: Array<[string, string]> = [
    [
      "[connect] root@127.0.0.1:1: could not open an SSH connection: connect ECONNREFUSED 127.0.0.1:1",
      "connection refused",
    ],
    [
      "[connect] root@10.9.9.9:22: could not open an SSH connection: connect EHOSTUNREACH",
      "no route to host",
    ],
    [
      "[connect] root@nohost:22: could not open an SSH connection: getaddrinfo ENOTFOUND nohost",
      "host name not found (DNS)",
    ],
    [
      "[connect] root@10.0.0.3:22: no SSH session within 15 s (TCP connect, handshake and authentication)\n  next: ...",
      "no SSH session within 15 s (TCP connect, handshake and authentication)",
    ],
    [
      "[connect] root@10.0.0.3:22: the connection closed before the SSH session was established",
      "the connection closed before the SSH session was established",
    ],
  ];
  for (const [message, words] of rows) {
    it(`says "${words}"`, () => expect(dialFailureReason(message)).to.equal(words));
  }
});
