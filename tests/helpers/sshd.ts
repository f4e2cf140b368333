/**
 * A throwaway OpenSSH sshd for integration tests: 127.0.0.1 on a free port, a fresh host key, `LogLevel VERBOSE`
 * to a log file (so tests count connections from sshd's own words), key and/or password authentication for root.
 *
 * sshd runs in its own mount namespace (`unshare --mount`), where copies of /etc/passwd and /etc/shadow are
 * bind-mounted: root gets a known password, an empty home (so the machine's root `~/.bashrc`, which runs pyenv
 * init at ~100 ms per command, stays out of every session) and a login-shell wrapper, without touching the
 * machine's files. The wrapper appends each command line to `commandsLog` (so a test can prove that nothing ran)
 * and then execs `bash -c`, as a Fedora host's root shell would run it: bash replaces itself with a simple command,
 * so channel signals reach the command. (A ForceCommand wrapper would not do: sshd refuses to signal
 * forced-command sessions.) A per-sshd file can also be bind-mounted over /proc/sys/kernel/random/boot_id, so
 * restarting sshd with a new one behaves like a reboot.
 *
 * Requires root, /usr/sbin/sshd, ssh-keygen, unshare and openssl; {@link sshdUnavailableReason} says what is missing.
 */
import { execFileSync, spawn, type ChildProcess } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as path from "path";
import { closeAll, type Connection } from "../../provider/ssh";
import { tempDir } from "./tempDirs";

const SSHD = "/usr/sbin/sshd";

/** Options for {@link startSshd}. */
export interface SshdOptions {
  /** `authorized_keys` lines accepted for root. Default: none. */
  authorizedKeys?: string[];
  /** Root's password; enables PasswordAuthentication. Default: password logins off. */
  password?: string;
  /** `AllowTcpForwarding` (needed on a jump host). Default: `false`. */
  allowTcpForwarding?: boolean;
  /** Content of /proc/sys/kernel/random/boot_id inside the sshd's sessions. Default: the machine's. */
  bootId?: string;
  /** `MaxSessions`. Default: 10 (OpenSSH's default). */
  maxSessions?: number;
  /** sshd `LogLevel`. Default: `VERBOSE` (logs every login with its method). */
  logLevel?: string;
  /** Host key type. Default: `ed25519`. */
  hostKeyType?: "ed25519" | "rsa" | "ecdsa";
  /**
   * Also accept logins as the unprivileged user {@link TEST_USER} (uid 5000, same keys and password as root).
   * OpenSSH behaves differently for root in places (it refuses to deliver channel signals to root sessions).
   * Default: `false`.
   */
  unprivilegedUser?: boolean;
  /** `ForceCommand` (run by the login shell wrapper with `$SSH_ORIGINAL_COMMAND` set). Default: none. */
  forceCommand?: string;
  /** Extra sshd_config lines. */
  extraConfig?: string[];
}

/** Says why sshd tests cannot run here, or `undefined` when they can. */
export function sshdUnavailableReason(): string | undefined {
  if (process.getuid?.() !== 0) return "sshd tests need root (for sshd and a mount namespace)";
  for (const bin of [SSHD, "/usr/bin/ssh-keygen", "/usr/bin/unshare", "/usr/bin/openssl"]) {
    if (!fs.existsSync(bin)) return `sshd tests need ${bin}`;
  }
  return undefined;
}

/** Name of the unprivileged user added when {@link SshdOptions.unprivilegedUser} is set. */
export const TEST_USER = "atomic-test";
const TEST_UID = 5000;

/**
 * Skips the calling suite (with the reason) when sshd tests cannot run here: not root, no /usr/sbin/sshd, or no
 * unshare. scripts/setup installs openssh-server and CI runs as root, so CI never skips (with CI set it fails
 * instead); a developer without root sees why instead of a wall of failures.
 */
export function skipUnlessSshd(ctx: Mocha.Context): void {
  const reason = sshdUnavailableReason();
  if (reason) {
    // In CI a skip would hide a missing install step (scripts/setup installs all of this): fail instead.
    if (process.env.CI) throw new Error(`sshd tests cannot run: ${reason}`);
    console.warn(`    skipped: ${reason}`);
    ctx.skip();
  }
}

/** Polls `predicate` every 20 ms until it is true; throws `what` after `timeoutMs` (default 10 s). */
export async function waitFor(what: string, predicate: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** Makes a temporary directory that {@link removeDir} deletes (or else the end of the test run: tempDirs.ts). */
export function makeTempDir(prefix: string): string {
  return tempDir(prefix);
}

/** Deletes a directory made by {@link makeTempDir}. */
export function removeDir(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
}

/** A client key pair made by {@link makeClientKey}. */
export interface ClientKey {
  /** Path of the private key file. */
  path: string;
  /** Private key contents (what `connection.privateKey` takes). */
  privateKey: string;
  /** `authorized_keys` line. */
  publicKey: string;
}

/** Generates a client key pair with ssh-keygen, encrypted when `passphrase` is given. */
export function makeClientKey(
  dir: string,
  name: string,
  opts: { type?: string; passphrase?: string } = {},
): ClientKey {
  const file = path.join(dir, name);
  execFileSync("ssh-keygen", [
    "-q",
    "-t",
    opts.type ?? "ed25519",
    "-N",
    opts.passphrase ?? "",
    "-C",
    name,
    "-f",
    file,
  ]);
  return {
    path: file,
    privateKey: fs.readFileSync(file, "utf8"),
    publicKey: fs.readFileSync(`${file}.pub`, "utf8").trim(),
  };
}

/** One sshd for a suite, as {@link useSshd} sets it up. */
export interface SshdFixture {
  /** The suite's temporary folder (the client key and the sshd's files). */
  dir: string;
  /** The client key sshd accepts for root. */
  key: ClientKey;
  sshd: TestSshd;
  /** root@127.0.0.1 on the sshd's port, logging in with {@link key}, its host key pinned. */
  conn: Connection;
}

/**
 * The sshd fixture of the SSH transport suites: in the calling `describe`, a `before` that skips the suite where
 * sshd tests cannot run, makes a client key in a temporary folder and starts an sshd accepting it (with
 * `options`), and an `after` that closes the pool's connections, stops the sshd and removes the folder. The
 * returned object is filled in by the `before`.
 */
export function useSshd(name: string, options: SshdOptions = {}): SshdFixture {
  const fixture = {} as SshdFixture;
  before(async function () {
    skipUnlessSshd(this);
    fixture.dir = makeTempDir(`ssh-${name}`);
    fixture.key = makeClientKey(fixture.dir, "id");
    fixture.sshd = await startSshd({ ...options, authorizedKeys: [fixture.key.publicKey] });
    fixture.conn = {
      host: "127.0.0.1",
      port: fixture.sshd.port,
      privateKey: fixture.key.privateKey,
      hostKey: fixture.sshd.hostKey,
    };
  });
  after(async () => {
    await closeAll();
    await fixture.sshd?.dispose();
    if (fixture.dir) removeDir(fixture.dir);
  });
  return fixture;
}

/** Starts an sshd; remember to `stop()` it. */
export async function startSshd(opts: SshdOptions = {}): Promise<TestSshd> {
  const sshd = new TestSshd(opts);
  await sshd.start();
  return sshd;
}

/** A running (or stopped) test sshd. */
export class TestSshd {
  /** Directory holding config, keys and logs. */
  readonly dir: string;
  /** sshd's log (`-E`), VERBOSE level. */
  readonly logFile: string;
  /** One line per command run through the login shell wrapper. */
  readonly commandsLog: string;
  /** The host's public key line, as `connection.hostKey` takes it. */
  readonly hostKey: string;
  /** The host key's `SHA256:` fingerprint. */
  readonly hostKeyFingerprint: string;
  port = 0;
  private proc?: ChildProcess;
  private readonly bootIdFile: string;

  constructor(private readonly opts: SshdOptions) {
    this.dir = makeTempDir("test-sshd");
    this.logFile = path.join(this.dir, "sshd.log");
    this.commandsLog = path.join(this.dir, "commands.log");
    this.bootIdFile = path.join(this.dir, "boot_id");
    const keyFile = path.join(this.dir, "host_key");
    execFileSync("ssh-keygen", ["-q", "-t", opts.hostKeyType ?? "ed25519", "-N", "", "-f", keyFile]);
    this.hostKey = fs.readFileSync(`${keyFile}.pub`, "utf8").trim();
    this.hostKeyFingerprint = execFileSync("ssh-keygen", ["-lf", `${keyFile}.pub`], {
      encoding: "utf8",
    }).split(" ")[1];
    if (opts.bootId !== undefined) this.setBootId(opts.bootId);
  }

  /** Starts sshd (again, on the same port, after {@link stop}). */
  async start(): Promise<void> {
    if (this.port === 0) this.port = await freePort();
    this.writeFiles();
    const script = this.namespaceScript();
    this.proc = spawn("unshare", ["--mount", "--propagation", "private", "/bin/sh", "-c", script], {
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    this.proc.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
    await this.waitListening(() => stderr);
  }

  /** Stops sshd and every session it started (like a host going down). */
  async stop(): Promise<void> {
    this.killSessions();
    const proc = this.proc;
    this.proc = undefined;
    if (!proc || proc.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => proc.once("exit", () => resolve()));
    proc.kill("SIGKILL");
    await Promise.race([exited, sleep(10_000)]);
  }

  /** Stops sshd, removes its directory. */
  async dispose(): Promise<void> {
    await this.stop();
    removeDir(this.dir);
  }

  /** Kills every session process of this sshd (drops every connection), leaving the listener running. */
  killSessions(): number {
    if (!this.proc?.pid) return 0;
    const pids = descendants(this.proc.pid);
    for (const pid of pids) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
    return pids.length;
  }

  /** Sets the boot id its sessions see (takes effect at the next {@link start}, like a reboot). */
  setBootId(id: string): void {
    fs.writeFileSync(this.bootIdFile, `${id}\n`);
  }

  /** sshd's log so far. */
  log(): string {
    return fs.existsSync(this.logFile) ? fs.readFileSync(this.logFile, "utf8") : "";
  }

  /** Commands run so far through the wrapper, one per line. */
  commands(): string[] {
    if (!fs.existsSync(this.commandsLog)) return [];
    return fs
      .readFileSync(this.commandsLog, "utf8")
      .split("\n")
      .filter((l) => l !== "");
  }

  /** Number of successful logins, counted from sshd's `Accepted <method> for` log lines. */
  acceptedLogins(): number {
    return this.countLog(/Accepted \S+ for /);
  }

  /** Number of TCP connections sshd accepted, counted from its `Connection from` log lines. */
  connectionsSeen(): number {
    return this.countLog(/Connection from /);
  }

  /** Number of log lines matching `re`. */
  countLog(re: RegExp): number {
    return this.log()
      .split("\n")
      .filter((line) => re.test(line)).length;
  }

  private writeFiles(): void {
    const home = path.join(this.dir, "home");
    fs.mkdirSync(home, { recursive: true });
    fs.writeFileSync(
      path.join(this.dir, "authorized_keys"),
      (this.opts.authorizedKeys ?? []).join("\n") + "\n",
      { mode: 0o600 },
    );
    const shell = path.join(this.dir, "login-shell");
    fs.writeFileSync(shell, loginShellScript(this.commandsLog), { mode: 0o755 });
    const extraUser = this.opts.unprivilegedUser
      ? { name: TEST_USER, uid: TEST_UID, home, shell }
      : undefined;
    fs.writeFileSync(path.join(this.dir, "passwd"), passwdWithRoot(home, shell, extraUser));
    fs.writeFileSync(path.join(this.dir, "shadow"), shadowWithRoot(this.opts.password, extraUser?.name), {
      mode: 0o600,
    });
    if (extraUser) {
      // The unprivileged user's sshd child reads authorized_keys, and its shell appends to the commands log.
      fs.chmodSync(this.dir, 0o755);
      fs.chmodSync(path.join(this.dir, "authorized_keys"), 0o644);
      fs.chownSync(home, TEST_UID, TEST_UID);
      fs.appendFileSync(this.commandsLog, "");
      fs.chmodSync(this.commandsLog, 0o666);
    }
    fs.writeFileSync(path.join(this.dir, "sshd_config"), this.config());
  }

  private config(): string {
    const o = this.opts;
    return [
      `Port ${this.port}`,
      "ListenAddress 127.0.0.1",
      `HostKey ${path.join(this.dir, "host_key")}`,
      "PidFile none",
      `AuthorizedKeysFile ${path.join(this.dir, "authorized_keys")}`,
      "PermitRootLogin yes",
      "PubkeyAuthentication yes",
      `PasswordAuthentication ${o.password !== undefined ? "yes" : "no"}`,
      "KbdInteractiveAuthentication no",
      "UsePAM no",
      "StrictModes no",
      "UseDNS no",
      "PrintMotd no",
      `AllowTcpForwarding ${o.allowTcpForwarding ? "yes" : "no"}`,
      `MaxSessions ${o.maxSessions ?? 10}`,
      "MaxStartups 200:30:400",
      `LogLevel ${o.logLevel ?? "VERBOSE"}`,
      ...(o.forceCommand !== undefined ? [`ForceCommand ${o.forceCommand}`] : []),
      ...(o.extraConfig ?? []),
      "",
    ].join("\n");
  }

  /** Runs in the new mount namespace, then becomes sshd (same pid, so `stop()` kills sshd itself). */
  private namespaceScript(): string {
    const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
    const lines = [
      "set -e",
      "mount -t tmpfs tmpfs /run", // privilege separation dir, private to this namespace
      "mkdir -p /run/sshd",
      `mount --bind ${q(path.join(this.dir, "passwd"))} /etc/passwd`,
      `mount --bind ${q(path.join(this.dir, "shadow"))} /etc/shadow`,
    ];
    if (fs.existsSync(this.bootIdFile))
      lines.push(`mount --bind ${q(this.bootIdFile)} /proc/sys/kernel/random/boot_id`);
    lines.push(`exec ${SSHD} -D -f ${q(path.join(this.dir, "sshd_config"))} -E ${q(this.logFile)}`);
    return lines.join("\n");
  }

  private async waitListening(stderr: () => string): Promise<void> {
    const want = `Server listening on 127.0.0.1 port ${this.port}`;
    const deadline = Date.now() + 15_000;
    const startLen = this.log().length;
    while (Date.now() < deadline) {
      if (this.log().slice(startLen).includes(want)) return;
      if (this.proc?.exitCode !== null && this.proc?.exitCode !== undefined) break;
      await sleep(25);
    }
    throw new Error(
      `test sshd did not start on port ${this.port}:\n${stderr()}\n${this.log().slice(startLen)}`,
    );
  }
}

/** An ssh-agent holding some keys; `stop()` kills it by pid. */
export interface TestAgent {
  socket: string;
  stop(): Promise<void>;
}

/** Starts `ssh-agent -D -a SOCK` in the foreground and adds the given key files to it. */
export async function startAgent(dir: string, keyFiles: string[]): Promise<TestAgent> {
  const socket = path.join(dir, "agent.sock");
  const proc = spawn("ssh-agent", ["-D", "-a", socket], { stdio: "ignore" });
  const deadline = Date.now() + 10_000;
  while (!fs.existsSync(socket)) {
    if (Date.now() > deadline) throw new Error("ssh-agent did not create its socket");
    await sleep(20);
  }
  for (const file of keyFiles)
    execFileSync("ssh-add", ["-q", file], {
      env: { ...process.env, SSH_AUTH_SOCK: socket },
      stdio: "ignore",
    });
  return {
    socket,
    async stop() {
      if (proc.exitCode !== null) return;
      const exited = new Promise<void>((resolve) => proc.once("exit", () => resolve()));
      proc.kill("SIGTERM");
      await exited;
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------

interface ExtraUser {
  name: string;
  uid: number;
  home: string;
  shell: string;
}

function passwdWithRoot(home: string, shell: string, extra: ExtraUser | undefined): string {
  const lines = fs
    .readFileSync("/etc/passwd", "utf8")
    .split("\n")
    .filter((l) => l && !l.startsWith("root:"));
  const users = [`root:x:0:0:root:${home}:${shell}`];
  if (extra) users.push(`${extra.name}:x:${extra.uid}:${extra.uid}:test:${extra.home}:${extra.shell}`);
  return [...users, ...lines, ""].join("\n");
}

function shadowWithRoot(password: string | undefined, extraUser: string | undefined): string {
  const lines = fs
    .readFileSync("/etc/shadow", "utf8")
    .split("\n")
    .filter((l) => l && !l.startsWith("root:"));
  const hash =
    password === undefined
      ? "*"
      : execFileSync("openssl", ["passwd", "-6", "-stdin"], { input: password, encoding: "utf8" }).trim();
  const users = [`root:${hash}:19000:0:99999:7:::`];
  if (extraUser) users.push(`${extraUser}:${hash}:19000:0:99999:7:::`);
  return [...users, ...lines, ""].join("\n");
}

/** sshd runs `<shell> -c "<command>"`; log the command, then run it as a bash login shell would. */
function loginShellScript(commandsLog: string): string {
  return [
    "#!/bin/sh",
    'if [ "$1" = "-c" ]; then',
    `    printf '%s\\n' "$2" >> '${commandsLog}'`,
    '    exec /bin/bash -c "$2"',
    "fi",
    'exec /bin/bash "$@"',
    "",
  ].join("\n");
}

/** All descendants of `pid`, found through /proc. */
function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8");
    } catch {
      continue;
    }
    const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    const list = children.get(ppid) ?? [];
    list.push(Number(entry));
    children.set(ppid, list);
  }
  const out: number[] = [];
  const walk = (p: number) => {
    for (const c of children.get(p) ?? []) {
      out.push(c);
      walk(c);
    }
  };
  walk(pid);
  return out;
}

/**
 * A free port below Linux's ephemeral range (32768+). An ephemeral port could be handed to an outgoing connection
 * while a test sshd is "rebooting", and a client dialing a closed ephemeral port on 127.0.0.1 can even connect to
 * itself; either would keep sshd from binding the port again.
 */
async function freePort(): Promise<number> {
  for (let i = 0; i < 200; i++) {
    const port = 20000 + Math.floor(Math.random() * 12000);
    if (await canListen(port)) return port;
  }
  throw new Error("no free port found in 20000-31999");
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once("error", () => resolve(false));
    srv.listen(port, "127.0.0.1", () => srv.close(() => resolve(true)));
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
