/**
 * What a unit runs, as the host runtime's `systemctl` needs to know it: an `ExecStart=` line classified, and a
 * system container's config.json read for etcd or flannel.
 */

/** What a unit's ExecStart= runs, as far as the simulator's process supervision needs to know. */
export type ExecStartKind =
  /** The etcd RPM unit: etcd with `--data-dir=$ETCD_DATA_DIR` from /etc/etcd/etcd.conf (RPM layout). */
  | { kind: "etcd-rpm" }
  /** Fedora 26's RPM flanneld.service (`ExecStart=/usr/bin/flanneld-start $FLANNEL_OPTIONS`). */
  | { kind: "flannel-rpm" }
  /**
   * A system container started by runc (`/bin/runc --systemd-cgroup run 'NAME'`): what it runs is in
   * /var/lib/containers/atomic/NAME/config.json `process.args` (see {@link systemContainerRunsEtcd}).
   */
  | { kind: "runc"; container: string }
  /** Anything else: a long-lived placeholder process stands in for it. */
  | { kind: "other" };

/** Classify an `ExecStart=` value (the text after `=`, continuation lines already joined). */
export function classifyExecStart(execStart: string): ExecStartKind {
  const runc =
    /(?:^|\s)\S*runc\s+(?:--systemd-cgroup\s+)?(?:run|start)\s+(?:-d\s+--pid-file\s+\S+\s+)?'?([^'\s]+)'?/.exec(
      execStart,
    );
  if (runc) return { kind: "runc", container: runc[1] };
  if (/\/usr\/bin\/etcd(\s|$|")/.test(execStart)) return { kind: "etcd-rpm" };
  if (/\/usr\/bin\/flanneld-start(\s|$)/.test(execStart)) return { kind: "flannel-rpm" };
  return { kind: "other" };
}

/** True when a system container's config.json (text) runs flannel (`/usr/bin/flanneld-run.sh`). */
export function systemContainerRunsFlannel(configJsonText: string): boolean {
  try {
    const args: unknown = JSON.parse(configJsonText)?.process?.args;
    return Array.isArray(args) && args.some((a) => a === "/usr/bin/flanneld-run.sh");
  } catch {
    return false;
  }
}

/** True when a system container's config.json (text) runs etcd (`/usr/bin/etcd-env.sh /usr/bin/etcd`). */
export function systemContainerRunsEtcd(configJsonText: string): boolean {
  try {
    const args: unknown = JSON.parse(configJsonText)?.process?.args;
    return Array.isArray(args) && args.some((a) => a === "/usr/bin/etcd");
  } catch {
    return false;
  }
}
