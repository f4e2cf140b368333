/**
 * One simulated Fedora Atomic host: where its files live, how its sshd and mount namespace are configured, how it
 * is created on disk, and how other processes talk to its supervisor.
 *
 * A host is a folder `DIR/<name>/` (the "host dir"). Inside the host's own mount namespace the folders below are
 * mounted at the real Fedora paths, so every tool just uses real paths:
 *
 * | host dir entry      | mounted at (inside the namespace)      | why                                              |
 * |---------------------|----------------------------------------|--------------------------------------------------|
 * | `etc-upper/`        | `/etc` (overlay upper, lower = `/etc`) | admin config (units, tmpfiles, etcd.conf, shadow, passwd) |
 * | `var-lib/`          | `/var/lib`                             | containers, etcd data                            |
 * | `run/`              | `/run`                                 | emptied at every boot, as a tmpfs /run would be  |
 * | `usr-lib-systemd/`  | `/usr/lib/systemd/system`              | the booted deployment's units                    |
 * | `usr-local/`        | `/usr/local`                           | Atomic's /usr/local is /var/usrlocal (per host)  |
 * | `ostree/`           | `/ostree`                              | a real bare OSTree repo (`/ostree/repo`)          |
 * | `root/`             | `/root`                                | a minimal `.bashrc` (the machine's runs pyenv)   |
 * | `boot_id`           | `/proc/sys/kernel/random/boot_id`      | a fresh UUID per simulated boot                   |
 */
import * as childProcess from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as net from "net";
import * as path from "path";
import { baseImage, packageEtcFiles } from "./catalog";
import { writeExecWrapper, writeToolEntryPoints } from "./toolClient";
import { seedOstreeSystem } from "./tools/rpmostree/remotes";

/** Fedora release of the simulated host's booted deployment. */
export type Release = 26 | 27;
/** How etcd was set up before a migration: kubernetes/contrib's ansible (`contrib`) or the RPM defaults (`rpm`). */
export type EtcdLayout = "contrib" | "rpm";
/** rpm-ostree flavour: the F27 GA build or the first one with `--idempotent` (see fedora-atomic-tools.md §3). */
export type RpmOstreeVersion = "2017.10" | "2018.7";

/** Absolute paths of everything that belongs to one host. */
export interface HostPaths {
  readonly clusterDir: string;
  readonly dir: string;
  readonly etcUpper: string;
  readonly etcWork: string;
  readonly varLib: string;
  readonly run: string;
  readonly usrLibSystemd: string;
  readonly usrLocal: string;
  readonly ostree: string;
  readonly root: string;
  readonly bootId: string;
  readonly bin: string;
  readonly state: string;
  readonly units: string;
  readonly hostJson: string;
  readonly runtimeJson: string;
  readonly statusJson: string;
  readonly faultsJson: string;
  readonly sshdConfig: string;
  readonly hostKey: string;
  readonly hostKeyPub: string;
  readonly authorizedKeys: string;
  readonly sshdLog: string;
  readonly commandsLog: string;
  /** The stand-in tools' invocations from a shell, one JSON line each (toolServer.ts). */
  readonly toolsLog: string;
  readonly supervisorLog: string;
  readonly supervisorSock: string;
  readonly execWrapper: string;
  readonly namespaceScript: string;
}

/** Paths of host `name` in cluster folder `clusterDir` (both made absolute). */
export function hostPaths(clusterDir: string, name: string): HostPaths {
  const c = path.resolve(clusterDir);
  return hostPathsFromDir(path.join(c, name));
}

/** Paths of the host whose folder is `hostDir` (its parent is the cluster folder). */
export function hostPathsFromDir(hostDir: string): HostPaths {
  const dir = path.resolve(hostDir);
  const state = path.join(dir, "state");
  return {
    clusterDir: path.dirname(dir),
    dir,
    etcUpper: path.join(dir, "etc-upper"),
    etcWork: path.join(dir, "etc-work"),
    varLib: path.join(dir, "var-lib"),
    run: path.join(dir, "run"),
    usrLibSystemd: path.join(dir, "usr-lib-systemd"),
    usrLocal: path.join(dir, "usr-local"),
    ostree: path.join(dir, "ostree"),
    root: path.join(dir, "root"),
    bootId: path.join(dir, "boot_id"),
    bin: path.join(dir, "bin"),
    state,
    units: path.join(state, "units"),
    hostJson: path.join(state, "host.json"),
    runtimeJson: path.join(state, "runtime.json"),
    statusJson: path.join(state, "supervisor-status.json"),
    faultsJson: path.join(state, "faults.json"),
    sshdConfig: path.join(dir, "sshd_config"),
    hostKey: path.join(dir, "ssh_host_ed25519_key"),
    hostKeyPub: path.join(dir, "ssh_host_ed25519_key.pub"),
    authorizedKeys: path.join(dir, "authorized_keys"),
    sshdLog: path.join(dir, "sshd.log"),
    commandsLog: path.join(dir, "commands.log"),
    toolsLog: path.join(dir, "tools.log"),
    supervisorLog: path.join(dir, "supervisor.log"),
    supervisorSock: path.join(dir, "supervisor.sock"),
    execWrapper: path.join(dir, "exec-wrapper"),
    namespaceScript: path.join(dir, "namespace.sh"),
  };
}

/** Paths the namespace mounts over: a cluster folder under one of them would be hidden from its own hosts. */
export const MOUNTED_PATHS = [
  "/etc",
  "/var/lib",
  "/run",
  "/usr/lib/systemd/system",
  "/usr/local",
  "/ostree",
  "/root",
];

/** `state/host.json`, the contract's description of a host (read by the stand-in tools). */
export interface HostJson {
  name: string;
  release: Release;
  layout: EtcdLayout;
  rpmOstreeVersion: RpmOstreeVersion;
  etcdClientPort: number;
  etcdPeerPort: number;
  reachable: boolean;
  /** How long `systemctl start` waits for flanneld's lease before the start times out, ms. */
  flannelStartTimeoutMs?: number;
}

/** Default of `HostJson.flannelStartTimeoutMs`: short, so a test of a failing start does not wait systemd's 90 s. */
export const DEFAULT_FLANNEL_START_TIMEOUT_MS = 5000;

/** `state/runtime.json`: what the supervisor needs to run the host (not part of the tools contract). */
export interface HostRuntime {
  name: string;
  /** Port clients connect to (the relay's when latencyMs > 0, else sshd's). */
  sshPort: number;
  /** Port sshd listens on (equal to sshPort without a relay). */
  sshdPort: number;
  /** Delay added to each direction by the relay, ms; 0 = no relay. */
  latencyMs: number;
  /** How long a rebooting host stays down, ms. */
  rebootDownMs: number;
  /** Delay between `systemctl reboot` returning and the host going down, ms (lets the command's exit status out). */
  shutdownDelayMs: number;
  /** Whether this host runs etcd (its etcd unit is enabled at creation). */
  etcd: boolean;
  /** Absolute path of the node binary the tools and supervisor run with. */
  node: string;
}

/** Everything needed to create one host. */
export interface HostSpec {
  name: string;
  release: Release;
  layout: EtcdLayout;
  rpmOstreeVersion: RpmOstreeVersion;
  sshPort: number;
  sshdPort: number;
  etcdClientPort: number;
  etcdPeerPort: number;
  latencyMs: number;
  rebootDownMs: number;
  shutdownDelayMs: number;
  etcd: boolean;
  /** root's password for `PasswordAuthentication`; undefined locks password logins (shadow field `*`). */
  password?: string;
  /** The cluster's client public key line, written to the host's authorized_keys. */
  clientPublicKey: string;
  /** `/etc/etcd/etcd.conf` when the host is a member of a multi-member cluster (etcdCluster.ts); else the layout's. */
  etcdConf?: string;
  /** host.json `flannelStartTimeoutMs`; default {@link DEFAULT_FLANNEL_START_TIMEOUT_MS}. */
  flannelStartTimeoutMs?: number;
  /**
   * Units of the base image enabled at creation (`multi-user.target.wants` links in /etc), as the cluster's
   * installer left them: kubernetes/contrib's ansible enables and starts flanneld and the kube units of a host's
   * role. The links are in /etc, so they survive a rebase; a unit whose file is gone is skipped at boot.
   */
  enabledUnits?: string[];
  /**
   * FLANNEL_ETCD_ENDPOINTS for the host's /etc/sysconfig/flanneld (where the base ships flannel), as a cluster's
   * configuration points every node at the cluster's etcd; undefined keeps the package default.
   */
  flannelEtcdEndpoints?: string;
}

/** The repository root (holds package.json), found from this file whether it runs from `sim/` or `bin/sim/`. */
export function repoRoot(): string {
  let dir = __dirname;
  for (;;) {
    const pkg = path.join(dir, "package.json");
    if (fs.existsSync(pkg) && JSON.parse(fs.readFileSync(pkg, "utf8")).name === "pulumi-atomic-host")
      return dir;
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`cannot find the pulumi-atomic-host package root above ${__dirname}`);
    dir = parent;
  }
}

/** Folder of the compiled simulator (`<repo>/bin/sim`); the supervisor and tools run from there. */
export function compiledSimDir(): string {
  return path.join(repoRoot(), "bin", "sim");
}

/** Throws a message that says what to do when the simulator has not been compiled. */
export function assertCompiled(): void {
  const supervisor = path.join(compiledSimDir(), "supervisor.js");
  if (!fs.existsSync(supervisor)) {
    throw new Error(
      `atomic-host-sim is not built: ${supervisor} is missing. Run \`npm run build\` (tsc) first.`,
    );
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Pure renderers

/** POSIX single-quote quoting for the generated shell scripts. */
export function shQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** PATH of every process on a host, per the contract: the host's wrappers first. */
export function hostPathEnv(p: HostPaths): string {
  return `${p.bin}:/usr/sbin:/usr/bin:/sbin:/bin`;
}

/** Environment every tool on the host gets (the contract's list), plus HOME. */
export function hostToolEnv(p: HostPaths): Record<string, string> {
  return {
    PATH: hostPathEnv(p),
    HOME: "/root",
    ATOMIC_SIM_HOST_DIR: p.dir,
    ATOMIC_SIM_CLUSTER_DIR: p.clusterDir,
  };
}

/**
 * sshd_config of a host. Key auth against the host's own authorized_keys; password auth on (root's hash lives in
 * the host's overlay /etc/shadow); every session goes through the exec wrapper, root's login shell in the host's
 * overlay /etc/passwd, which logs it.
 * `UsePAM no` keeps Debian's PAM session modules (motd, logind) out of every login's cost.
 */
export function renderSshdConfig(p: HostPaths, sshdPort: number): string {
  return [
    `# atomic-host-sim: sshd of ${path.basename(p.dir)} (generated by sim/host.ts)`,
    `Port ${sshdPort}`,
    "ListenAddress 127.0.0.1",
    `HostKey ${p.hostKey}`,
    "PidFile none",
    `AuthorizedKeysFile ${p.authorizedKeys}`,
    // The cluster folder sits under /tmp (mode 1777), which StrictModes would reject.
    "StrictModes no",
    "PermitRootLogin yes",
    "PubkeyAuthentication yes",
    "PasswordAuthentication yes",
    "KbdInteractiveAuthentication no",
    "UsePAM no",
    "AllowTcpForwarding yes",
    "X11Forwarding no",
    "PrintMotd no",
    "PrintLastLog no",
    "UseDNS no",
    "LogLevel VERBOSE",
    "MaxSessions 10",
    `SetEnv ATOMIC_SIM_HOST_DIR=${p.dir} ATOMIC_SIM_CLUSTER_DIR=${p.clusterDir}`,
    "Subsystem sftp /usr/lib/openssh/sftp-server",
    "",
  ].join("\n");
}

/**
 * The shell script `unshare --mount --uts --propagation private` runs: it mounts the host's folders over the real
 * paths (see the table at the top of this file), names the host, then becomes the supervisor. `exec` keeps the
 * pid, so the pid `unshare` was started with is the supervisor's.
 */
export function renderNamespaceScript(
  p: HostPaths,
  name: string,
  node: string,
  supervisorJs: string,
): string {
  const q = shQuote;
  return [
    "#!/bin/sh",
    `# atomic-host-sim: mount namespace of ${name} (generated by sim/host.ts)`,
    "set -e",
    `mount -t overlay overlay -o ${q(`lowerdir=/etc,upperdir=${p.etcUpper},workdir=${p.etcWork}`)} /etc`,
    `mount --bind ${q(p.varLib)} /var/lib`,
    `mount --bind ${q(p.run)} /run`,
    `mount --bind ${q(p.usrLibSystemd)} /usr/lib/systemd/system`,
    `mount --bind ${q(p.usrLocal)} /usr/local`,
    // /ostree does not exist on the machine; an empty mount point there is the only trace left outside DIR.
    "mkdir -p /ostree",
    `mount --bind ${q(p.ostree)} /ostree`,
    // On Fedora Atomic Host /var is the deployment's /ostree/deploy/fedora-atomic/var (ostree-prepare-root), so
    // both paths name the same folders (atomic's _canonicalize_location relies on it).
    "mkdir -p /ostree/deploy/fedora-atomic/var/lib",
    `mount --bind ${q(p.varLib)} /ostree/deploy/fedora-atomic/var/lib`,
    `mount --bind ${q(p.root)} /root`,
    `mount --bind ${q(p.bootId)} /proc/sys/kernel/random/boot_id`,
    `hostname ${q(name)}`,
    `exec ${q(node)} ${q(supervisorJs)} ${q(p.dir)}`,
    "",
  ].join("\n");
}

/** A per-host wrapper named like the real tool: runs the compiled stand-in with the host's environment. */
export function renderToolStub(p: HostPaths, tool: string, node: string, toolJs: string): string {
  const env = hostToolEnv(p);
  return [
    "#!/bin/sh",
    `# atomic-host-sim: \`${tool}\` on ${path.basename(p.dir)} (generated by sim/host.ts)`,
    `ATOMIC_SIM_HOST_DIR=${shQuote(env.ATOMIC_SIM_HOST_DIR)}`,
    `ATOMIC_SIM_CLUSTER_DIR=${shQuote(env.ATOMIC_SIM_CLUSTER_DIR)}`,
    `PATH=${shQuote(env.PATH)}`,
    "export ATOMIC_SIM_HOST_DIR ATOMIC_SIM_CLUSTER_DIR PATH",
    `exec ${shQuote(node)} ${shQuote(toolJs)} "$@"`,
    "",
  ].join("\n");
}

/**
 * `etcdctl` on a host. All hosts share the machine's network, so each etcd listens on the host's own ports;
 * this wrapper points etcdctl at them (an explicit `:2379` in an argument becomes the host's client port).
 * ETCDCTL_API defaults to 2, as etcd 3.1/3.2's etcdctl (Fedora 26/27) did.
 */
export function renderEtcdctlStub(p: HostPaths, clientPort: number): string {
  return [
    "#!/bin/sh",
    `# atomic-host-sim: etcdctl on ${path.basename(p.dir)}; 127.0.0.1:2379 is this host's 127.0.0.1:${clientPort}`,
    'export ETCDCTL_API="${ETCDCTL_API:-2}"',
    // Only when the command line names no endpoint: etcdctl refuses a flag and its variable together.
    'case " $* " in *" --endpoints"* | *" --endpoint"* | *" -C "* | *" --peers"*) named=1 ;; *) named= ;; esac',
    `if [ -z "$named" ] && [ -z "\${ETCDCTL_ENDPOINTS:-}" ] && [ -z "\${ETCDCTL_ENDPOINT:-}" ]; then`,
    `  export ETCDCTL_ENDPOINTS=http://127.0.0.1:${clientPort}`,
    "fi",
    "n=$#",
    'while [ "$n" -gt 0 ]; do',
    "  a=$1; shift",
    `  case $a in *:2379*) a=$(printf '%s' "$a" | sed 's/:2379/:${clientPort}/g') ;; esac`,
    '  set -- "$@" "$a"; n=$((n - 1))',
    "done",
    'exec /usr/bin/etcdctl "$@"',
    "",
  ].join("\n");
}

/**
 * `runc` on a host. System containers run as plain host processes in the simulator (tools/systemd/processes.ts), so the only
 * useful verb is `exec NAME CMD...` (the etcd image's /usr/local/bin/etcdctl is `runc exec etcd etcdctl`), which
 * runs CMD on the host; etcdctl goes through the host's etcdctl wrapper.
 */
export function renderRuncStub(p: HostPaths): string {
  return [
    "#!/bin/sh",
    `# atomic-host-sim: runc on ${path.basename(p.dir)} (generated by sim/host.ts)`,
    "while [ $# -gt 0 ]; do case $1 in --*) shift ;; *) break ;; esac; done",
    "verb=${1:-}; [ $# -gt 0 ] && shift",
    "case $verb in",
    "  exec)",
    "    while [ $# -gt 0 ]; do case $1 in -*) shift ;; *) break ;; esac; done",
    '    [ $# -gt 1 ] || { echo "runc: exec needs a container and a command" >&2; exit 1; }',
    "    shift; cmd=$1; shift",
    '    case $cmd in */etcdctl | etcdctl) exec etcdctl "$@" ;; esac',
    '    exec "$cmd" "$@" ;;',
    '  list) printf "%-12s %-8s %-10s %-40s %-31s %s\\n" ID PID STATUS BUNDLE CREATED OWNER ;;',
    '  *) echo "runc: $verb is not simulated by atomic-host-sim" >&2; exit 1 ;;',
    "esac",
    "",
  ].join("\n");
}

/**
 * `/etc/etcd/etcd.conf` as the layout leaves it. contrib: kubernetes/contrib's `etcd.conf.j2` for a single node
 * (ETCD_NAME=default, ETCD_DATA_DIR=/var/lib/etcd). rpm: the RPM's shipped file (data in default.etcd). URLs carry
 * the host's own ports because every host shares the machine's loopback.
 */
export function renderEtcdConf(layout: EtcdLayout, clientPort: number, peerPort: number): string {
  const client = `http://127.0.0.1:${clientPort}`;
  const peer = `http://127.0.0.1:${peerPort}`;
  if (layout === "contrib") {
    return [
      "# [member]",
      "ETCD_NAME=default",
      "ETCD_DATA_DIR=/var/lib/etcd",
      '#ETCD_SNAPSHOT_COUNTER="10000"',
      '#ETCD_HEARTBEAT_INTERVAL="100"',
      '#ETCD_ELECTION_TIMEOUT="1000"',
      `ETCD_LISTEN_PEER_URLS=${peer}`,
      `ETCD_LISTEN_CLIENT_URLS=${client}`,
      '#ETCD_MAX_SNAPSHOTS="5"',
      '#ETCD_MAX_WALS="5"',
      '#ETCD_CORS=""',
      "",
      `ETCD_ADVERTISE_CLIENT_URLS=${client}`,
      "",
    ].join("\n");
  }
  return [
    "#[Member]",
    '#ETCD_CORS=""',
    'ETCD_DATA_DIR="/var/lib/etcd/default.etcd"',
    '#ETCD_WAL_DIR=""',
    `ETCD_LISTEN_PEER_URLS="${peer}"`,
    `ETCD_LISTEN_CLIENT_URLS="${client}"`,
    '#ETCD_MAX_SNAPSHOTS="5"',
    '#ETCD_MAX_WALS="5"',
    'ETCD_NAME="default"',
    "#",
    "#[Clustering]",
    `ETCD_INITIAL_ADVERTISE_PEER_URLS="${peer}"`,
    `ETCD_ADVERTISE_CLIENT_URLS="${client}"`,
    `ETCD_INITIAL_CLUSTER="default=${peer}"`,
    '#ETCD_INITIAL_CLUSTER_TOKEN="etcd-cluster"',
    '#ETCD_INITIAL_CLUSTER_STATE="new"',
    "",
  ].join("\n");
}

/** root's `.bashrc` as Fedora ships it (sourcing /etc/bashrc, which Debian does not have, so nothing runs). */
export const FEDORA_ROOT_BASHRC = [
  "# .bashrc",
  "",
  "# User specific aliases and functions",
  "",
  "alias rm='rm -i'",
  "alias cp='cp -i'",
  "alias mv='mv -i'",
  "",
  "# Source global definitions",
  "if [ -f /etc/bashrc ]; then",
  "\t. /etc/bashrc",
  "fi",
  "",
].join("\n");

/** Replaces field `index` of root's line in an /etc/shadow or /etc/passwd text. */
function withRootField(text: string, index: number, value: string): string {
  return text
    .split("\n")
    .map((line) => {
      if (!line.startsWith("root:")) return line;
      const fields = line.split(":");
      fields[index] = value;
      return fields.join(":");
    })
    .join("\n");
}

/** Replaces root's password field in an /etc/shadow text. */
export function withRootPasswordHash(shadow: string, hash: string): string {
  return withRootField(shadow, 1, hash);
}

/** Replaces root's login shell (the last field) in an /etc/passwd text. */
export function withRootShell(passwd: string, shell: string): string {
  return withRootField(passwd, 6, shell);
}

/** `SHA256:<base64, no padding>` of an OpenSSH public key line, as `ssh-keygen -l` prints it. */
export function sshFingerprint(publicKeyLine: string): string {
  const blob = Buffer.from(publicKeyLine.trim().split(/\s+/)[1] ?? "", "base64");
  return `SHA256:${crypto.createHash("sha256").update(blob).digest("base64").replace(/=+$/, "")}`;
}

/** `type base64` of a public key file's line (the comment dropped). */
export function publicKeyLine(pubFileText: string): string {
  return pubFileText.trim().split(/\s+/).slice(0, 2).join(" ");
}

// ---------------------------------------------------------------------------------------------------------------
// Creating a host on disk

/** Tools the host gets wrappers for: ours plus the stand-in Fedora tools (contract: `bin/sim/tools/<tool>.js`). */
export const HOST_TOOLS = ["systemctl", "reboot", "systemd-tmpfiles", "atomic", "rpm-ostree"];

/** Contract of `sim/tools/rpmostree/state.ts`, owned by the tools side. */
interface RpmOstreeStateModule {
  initRpmOstree(hostDir: string, opts: { release: Release; rpmOstreeVersion: RpmOstreeVersion }): unknown;
  bootPendingDeployment(hostDir: string): unknown;
  killRpmOstreed(hostDir: string, signal?: NodeJS.Signals): number | undefined;
}

/**
 * Loads the rpm-ostree state module (`bin/sim/tools/rpmostree/state.js`) by path, so this file compiles whether
 * or not it exists yet, and fails with a message that names the missing piece.
 */
export function loadRpmOstreeState(): RpmOstreeStateModule {
  const dir = path.join(compiledSimDir(), "tools", "rpmostree");
  const modulePath = path.join(dir, "state.js");
  if (fs.existsSync(modulePath)) return require(modulePath) as RpmOstreeStateModule;
  throw new Error(
    `the rpm-ostree state module is missing: ${modulePath} (from sim/tools/rpmostree/state.ts, which must export ` +
      "initRpmOstree(hostDir, {release, rpmOstreeVersion}) and bootPendingDeployment(hostDir)). Build it first.",
  );
}

function mkdirs(p: HostPaths): void {
  for (const d of [
    p.etcUpper,
    p.etcWork,
    p.varLib,
    p.run,
    p.usrLibSystemd,
    p.usrLocal,
    p.ostree,
    p.root,
    p.bin,
    p.units,
    path.join(p.usrLocal, "bin"),
  ]) {
    fs.mkdirSync(d, { recursive: true });
  }
}

function writeExecutable(file: string, text: string): void {
  fs.writeFileSync(file, text, { mode: 0o755 });
  fs.chmodSync(file, 0o755);
}

/** `openssl passwd -6` hash of a password (the salt is random). */
function sha512CryptHash(password: string): string {
  const salt = crypto.randomBytes(8).toString("hex");
  return childProcess
    .execFileSync("openssl", ["passwd", "-6", "-salt", salt, "-stdin"], { input: password, encoding: "utf8" })
    .trim();
}

/** Writes `name` into the host's overlay /etc as `edit` makes it from the machine's, keeping its owner and mode. */
function writeEtcOverlay(p: HostPaths, name: string, edit: (text: string) => string): void {
  const real = fs.statSync(path.join("/etc", name));
  const file = path.join(p.etcUpper, name);
  fs.writeFileSync(file, edit(fs.readFileSync(path.join("/etc", name), "utf8")), { mode: 0o600 });
  fs.chownSync(file, real.uid, real.gid);
  fs.chmodSync(file, real.mode & 0o7777);
}

/** Writes the host's overlay /etc/shadow with root's password set (or locked). */
function writeShadow(p: HostPaths, password: string | undefined): void {
  const hash = password === undefined ? "*" : sha512CryptHash(password);
  writeEtcOverlay(p, "shadow", (shadow) => withRootPasswordHash(shadow, hash));
}

/**
 * Writes the host's overlay /etc/passwd with root's login shell set to the exec wrapper. sshd runs every session
 * as `<login shell> -c <command>`, so the wrapper sees each command as a real host's bash would, logs it and runs
 * it with `/bin/bash -c` (SHELL set back to /bin/bash): one bash per command, as on a real host. (A ForceCommand
 * wrapper, as before, cost a second bash, with its bashrc, per command.)
 */
function writePasswd(p: HostPaths): void {
  writeEtcOverlay(p, "passwd", (passwd) => withRootShell(passwd, p.execWrapper));
}

/** Generates an ed25519 key pair with ssh-keygen (removing an old one first, so this also rotates keys). */
export function generateKey(file: string, comment: string): void {
  fs.rmSync(file, { force: true });
  fs.rmSync(`${file}.pub`, { force: true });
  childProcess.execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", file], {
    stdio: ["ignore", "ignore", "pipe"],
  });
}

/**
 * The default /etc files of the base image's packages (Fedora 26 ships kubernetes and flannel, whose
 * /etc/kubernetes/* and /etc/sysconfig/flanneld a real host has), so atomic's hostfs copy meets them as on a real
 * host ("File ... already exists."). etcd's conf is the layout's (seedEtcdLayout), written separately.
 */
function seedPackageEtcFiles(p: HostPaths, release: Release): void {
  for (const pkg of baseImage(release).packages) {
    if (pkg.name === "etcd") continue;
    for (const [file, text] of Object.entries(packageEtcFiles(pkg.name))) {
      const target = path.join(p.etcUpper, path.relative("/etc", file));
      if (fs.existsSync(target)) continue;
      fs.mkdirSync(path.dirname(target), { recursive: true });
      fs.writeFileSync(target, text);
    }
  }
}

/** Sets FLANNEL_ETCD_ENDPOINTS in the host's /etc/sysconfig/flanneld, if the host has that file. */
function pointFlannelAt(p: HostPaths, endpoints: string): void {
  const file = path.join(p.etcUpper, "sysconfig", "flanneld");
  if (!fs.existsSync(file)) return;
  const text = fs.readFileSync(file, "utf8");
  fs.writeFileSync(
    file,
    text.replace(/^FLANNEL_ETCD_ENDPOINTS=.*$/m, `FLANNEL_ETCD_ENDPOINTS="${endpoints}"`),
  );
}

/** etcd as the layout leaves it: the conf, the data dir's parent, and the unit enabled (contrib's ansible does). */
function seedEtcdLayout(p: HostPaths, spec: HostSpec): void {
  fs.mkdirSync(path.join(p.etcUpper, "etcd"), { recursive: true });
  fs.writeFileSync(
    path.join(p.etcUpper, "etcd", "etcd.conf"),
    spec.etcdConf ?? renderEtcdConf(spec.layout, spec.etcdClientPort, spec.etcdPeerPort),
  );
  fs.mkdirSync(path.join(p.varLib, "etcd"), { recursive: true, mode: 0o700 });
  const wants = path.join(p.etcUpper, "systemd", "system", "multi-user.target.wants");
  fs.mkdirSync(wants, { recursive: true });
  fs.symlinkSync("/usr/lib/systemd/system/etcd.service", path.join(wants, "etcd.service"));
}

/** `systemctl enable UNIT` of a base-image unit (WantedBy=multi-user.target), done before the host first boots. */
function enableAtCreation(p: HostPaths, unit: string): void {
  const wants = path.join(p.etcUpper, "systemd", "system", "multi-user.target.wants");
  fs.mkdirSync(wants, { recursive: true });
  const link = path.join(wants, unit);
  if (!fs.existsSync(link)) fs.symlinkSync(`/usr/lib/systemd/system/${unit}`, link);
}

/**
 * Creates host `spec.name` on disk: folders, keys, sshd config, overlay shadow, tool wrappers, exec wrapper,
 * namespace script, state files, the etcd layout, and the rpm-ostree state (tools side). Does not start it.
 */
export async function createHost(
  clusterDir: string,
  spec: HostSpec,
  renderExecWrapper: (p: HostPaths) => string,
) {
  const p = hostPaths(clusterDir, spec.name);
  const node = process.execPath;
  const simDir = compiledSimDir();
  mkdirs(p);
  generateKey(p.hostKey, `root@${spec.name}`);
  fs.writeFileSync(p.authorizedKeys, `${spec.clientPublicKey.trim()}\n`, { mode: 0o600 });
  fs.writeFileSync(p.sshdConfig, renderSshdConfig(p, spec.sshdPort));
  writeShadow(p, spec.password);
  writePasswd(p);
  fs.writeFileSync(path.join(p.root, ".bashrc"), FEDORA_ROOT_BASHRC);
  fs.writeFileSync(path.join(p.root, ".bash_profile"), "# .bash_profile\n[ -f ~/.bashrc ] && . ~/.bashrc\n");
  writeToolEntryPoints(p, HOST_TOOLS, node);
  writeExecutable(path.join(p.bin, "etcdctl"), renderEtcdctlStub(p, spec.etcdClientPort));
  writeExecutable(path.join(p.bin, "runc"), renderRuncStub(p));
  writeExecWrapper(p, hostToolEnv(p), renderExecWrapper);
  writeExecutable(
    p.namespaceScript,
    renderNamespaceScript(p, spec.name, node, path.join(simDir, "supervisor.js")),
  );
  fs.writeFileSync(p.bootId, `${crypto.randomUUID()}\n`);
  fs.writeFileSync(p.commandsLog, "");
  fs.writeFileSync(p.sshdLog, "");
  const hostJson: HostJson = {
    name: spec.name,
    release: spec.release,
    layout: spec.layout,
    rpmOstreeVersion: spec.rpmOstreeVersion,
    etcdClientPort: spec.etcdClientPort,
    etcdPeerPort: spec.etcdPeerPort,
    reachable: true,
    flannelStartTimeoutMs: spec.flannelStartTimeoutMs ?? DEFAULT_FLANNEL_START_TIMEOUT_MS,
  };
  writeJson(p.hostJson, hostJson);
  const runtime: HostRuntime = {
    name: spec.name,
    sshPort: spec.sshPort,
    sshdPort: spec.sshdPort,
    latencyMs: spec.latencyMs,
    rebootDownMs: spec.rebootDownMs,
    shutdownDelayMs: spec.shutdownDelayMs,
    etcd: spec.etcd,
    node,
  };
  writeJson(p.runtimeJson, runtime);
  writeJson(p.faultsJson, {});
  if (spec.etcd) seedEtcdLayout(p, spec);
  for (const unit of spec.enabledUnits ?? []) enableAtCreation(p, unit);
  seedPackageEtcFiles(p, spec.release);
  if (spec.flannelEtcdEndpoints !== undefined) pointFlannelAt(p, spec.flannelEtcdEndpoints);
  seedOstreeSystem({ etc: p.etcUpper, ostree: p.ostree }, spec.release);
  await loadRpmOstreeState().initRpmOstree(p.dir, {
    release: spec.release,
    rpmOstreeVersion: spec.rpmOstreeVersion,
  });
  return p;
}

// ---------------------------------------------------------------------------------------------------------------
// Small file helpers shared by the runtime

/** Writes JSON through a temporary file and a rename, so readers never see half a file. */
export function writeJson(file: string, value: unknown): void {
  const tmp = `${file}.${process.pid}.${crypto.randomBytes(3).toString("hex")}.tmp`;
  fs.writeFileSync(tmp, `${JSON.stringify(value, null, 2)}\n`);
  fs.renameSync(tmp, file);
}

/** Reads a JSON file, or returns `fallback` when it does not exist. */
export function readJson<T>(file: string, fallback: T): T {
  try {
    return JSON.parse(fs.readFileSync(file, "utf8")) as T;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return fallback;
    throw err;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Supervisor control protocol (one JSON line each way over DIR/<host>/supervisor.sock)

/** Life-cycle state of a host as its supervisor reports it. */
export type HostState = "starting" | "up" | "rebooting" | "down" | "unreachable" | "stopping" | "failed";

/** What `status` returns for one host. */
export interface HostStatus {
  name: string;
  state: HostState;
  port: number;
  sshdPort: number;
  bootId: string;
  supervisorPid: number;
  sshdPid: number | null;
  /** `mnt:[inode]` of the host's mount namespace: how `down` finds every process of the host. */
  mountNamespace: string;
  since: string;
  boots: number;
  /** Enabled units that failed to start at the last boot. */
  failedUnits: string[];
  lastError?: string;
}

/** Result of one unit action run by the supervisor on behalf of `systemctl`. */
export interface UnitActionResult {
  exitCode: number;
  stderr: string;
}

export type ControlRequest =
  | { op: "status" }
  | { op: "reboot" }
  | { op: "kill" }
  | { op: "start" }
  | { op: "shutdown" }
  | { op: "killSshd"; restartAfterMs?: number }
  | { op: "unreachable"; seconds: number }
  | { op: "changeHostKey" }
  | { op: "unit"; action: "start" | "stop" | "restart"; units: string[] };

export interface ControlResponse {
  ok: boolean;
  error?: string;
  status?: HostStatus;
  unit?: UnitActionResult;
  /** New host public key line (after `changeHostKey`). */
  hostKey?: string;
}

/**
 * Sends one request to a host's supervisor and resolves with its answer. Rejects with `code: "ENOSUPERVISOR"`
 * when nothing listens (the host is not running), so callers can tell that apart from a failed operation.
 */
export function requestSupervisor(
  hostDir: string,
  req: ControlRequest,
  timeoutMs = 120_000,
): Promise<ControlResponse> {
  const sock = hostPathsFromDir(hostDir).supervisorSock;
  return new Promise((resolve, reject) => {
    const conn = net.connect(sock);
    let buf = "";
    const timer = setTimeout(() => {
      conn.destroy();
      reject(new Error(`supervisor of ${hostDir} did not answer ${req.op} within ${timeoutMs} ms`));
    }, timeoutMs);
    conn.setEncoding("utf8");
    conn.on("connect", () => conn.write(`${JSON.stringify(req)}\n`));
    conn.on("data", (d: string) => {
      buf += d;
      const nl = buf.indexOf("\n");
      if (nl < 0) return;
      clearTimeout(timer);
      conn.end();
      resolve(JSON.parse(buf.slice(0, nl)) as ControlResponse);
    });
    conn.on("close", () => {
      clearTimeout(timer);
      if (!buf.includes("\n"))
        reject(new Error(`supervisor of ${hostDir} closed the connection during ${req.op}`));
    });
    conn.on("error", (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (err.code === "ENOENT" || err.code === "ECONNREFUSED") {
        const e = new Error(`no supervisor is running for ${hostDir}`) as NodeJS.ErrnoException;
        e.code = "ENOSUPERVISOR";
        reject(e);
      } else {
        reject(err);
      }
    });
  });
}
