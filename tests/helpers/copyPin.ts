/**
 * Pins a `cp` half-way, deterministically, on a simulated host: a file the test adds to the tree being copied
 * carries a Linux write lease (fcntl F_SETLEASE) held by a small process, so cp blocks opening it until the test
 * releases the lease. The files cp reached before it are copied; the rest are not. Used with an etcd member
 * directory (a file in wal/: etcd ignores names that are not segments) by the EtcdDataMigration rollback and
 * interrupt tests.
 *
 * The kernel breaks a lease by force `/proc/sys/fs/lease-break-time` seconds (45 by default) after an open blocked
 * on it, so a pin lasts at most that long: what a test does between `copyBlocked` and `releaseLease` must fit. A
 * write lease is granted only on a file nobody else has open: a running etcd's WAL segment cannot be pinned (stop
 * etcd first), a file of another name in wal/ can.
 */
import type { SimCluster } from "../../sim";

/** Where the lease holder keeps its state inside the host: `held` (its pid), `broken`, `release`, `log`. */
const LEASE_DIR = "/run/copy-pin-lease";
const POLL_MS = 100;

/**
 * Inside the host, without SSH. stdin is read first: sim.exec writes to the child's stdin right after spawning
 * it, so a command over before that write would surface as an uncaught EPIPE.
 */
const inHost = (sim: SimCluster, name: string, command: string) =>
  sim.exec(name, `cat >/dev/null; ${command}`);

async function sh(sim: SimCluster, name: string, command: string): Promise<string> {
  const r = await inHost(sim, name, command);
  if (r.exitCode !== 0) throw new Error(`${name}: ${command} exited ${r.exitCode}: ${r.stderr}`);
  return r.stdout;
}

const exists = async (sim: SimCluster, name: string, path: string) =>
  (await inHost(sim, name, `test -e ${path}`)).exitCode === 0;

async function waitFor(what: string, probe: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

/**
 * Takes a write lease on `file` (which must exist) inside host `name` and returns once it is held. The holder
 * lets go when `releaseLease` asks, or after 180 s.
 */
export async function holdLease(sim: SimCluster, name: string, file: string): Promise<void> {
  const perl = [
    "use Fcntl;",
    "my ($file, $dir) = @ARGV;",
    '$SIG{IO} = sub { open(my $m, ">", "$dir/broken"); close($m); };',
    'open(my $f, "<", $file) or die "open $file: $!";',
    'fcntl($f, 1024, F_WRLCK) or die "F_SETLEASE: $!";', // 1024 = F_SETLEASE
    'open(my $m, ">", "$dir/held.new"); print $m "$$\\n"; close($m); rename("$dir/held.new", "$dir/held");',
    "my $until = time + 180;",
    'until (-e "$dir/release" || time > $until) { select(undef, undef, undef, 0.05) }',
  ].join(" ");
  await sh(
    sim,
    name,
    `rm -rf ${LEASE_DIR} && mkdir -p ${LEASE_DIR} && ` +
      `setsid -f perl -e '${perl}' ${file} ${LEASE_DIR} >${LEASE_DIR}/log 2>&1 </dev/null`,
  );
  await waitFor("the lease", () => exists(sim, name, `${LEASE_DIR}/held`), 10_000);
}

/** Whether someone (cp) is blocked opening the leased file: the kernel told the holder (SIGIO). */
export function leaseBroken(sim: SimCluster, name: string): Promise<boolean> {
  return exists(sim, name, `${LEASE_DIR}/broken`);
}

/** Waits until cp is blocked on the leased file. */
export function copyBlocked(sim: SimCluster, name: string, timeoutMs = 60_000): Promise<void> {
  return waitFor("cp to reach the pinned file", () => leaseBroken(sim, name), timeoutMs);
}

/** Lets the holder go and waits until it has exited (the lease is gone with it): cp goes on. */
export async function releaseLease(sim: SimCluster, name: string): Promise<void> {
  // By pid (in `held`): the hosts share the machine's pid namespace, so a pgrep would see other hosts' holders.
  const pid = (await sh(sim, name, `cat ${LEASE_DIR}/held`)).trim();
  if (!/^\d+$/.test(pid)) throw new Error(`${name}: no lease holder pid in ${LEASE_DIR}/held: ${pid}`);
  await sh(sim, name, `touch ${LEASE_DIR}/release`);
  // Gone, or a zombie (it may have been reparented to a host supervisor that does not reap it).
  const state = `awk '/^State:/ {print $2}' /proc/${pid}/status 2>/dev/null`;
  await waitFor(
    "the lease holder to exit",
    async () => /^Z?$/.test((await sh(sim, name, `${state}; true`)).trim()),
    60_000,
  );
}
