/**
 * flanneld's lease for simulated hosts, until atomic-host-sim's flanneld writes its own (in this tree it is a
 * placeholder process), so that the health gates' lease check meets what a real host has.
 */
import * as http from "http";
import type { SimCluster } from "../../sim";

/** The network configuration the operator writes for flannel (`<prefix>/config`, v2 keyspace). */
export async function writeFlannelNetwork(port: number, prefix = "/atomic.io/network"): Promise<void> {
  const r = await etcdV2(port, "PUT", `${prefix}/config`, '{"Network":"10.1.0.0/16"}');
  if (r.status !== 200 && r.status !== 201)
    throw new Error(`etcd refused ${prefix}/config: ${r.status} ${r.body}`);
}

/** etcd's v2 keys API (flannel 0.7 reads its network configuration there). */
export function etcdV2(
  port: number,
  method: "GET" | "PUT",
  key: string,
  value?: string,
): Promise<{ status: number; body: string }> {
  const data = value === undefined ? "" : `value=${encodeURIComponent(value)}`;
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: "127.0.0.1",
        port,
        path: `/v2/keys${key}`,
        method,
        timeout: 2000,
        headers: {
          "content-type": "application/x-www-form-urlencoded",
          "content-length": Buffer.byteLength(data),
        },
      },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (d: string) => (body += d));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", reject);
    req.end(data);
  });
}

/**
 * flanneld's lease, for the simulator's flanneld until it writes its own (it is a placeholder process in this
 * tree): while the host's flanneld unit is active and etcd holds `<FLANNEL_ETCD_PREFIX>/config` (read from the
 * host's /etc/sysconfig/flanneld, as flanneld-run.sh sources it), `<runDir>/subnet.env` holds a subnet, as
 * flanneld writes it; otherwise there is none. Written from inside the host (no SSH, no commands.log line).
 */
export class FlannelLeases {
  private timer: NodeJS.Timeout;
  private busy = false;

  constructor(
    private readonly sim: SimCluster,
    private readonly hosts: string[],
    private readonly etcdPorts: number[],
    /** The host folder flanneld writes into: `/run/flanneld` for the system container, `/run/flannel` for the RPM. */
    private readonly runDir = "/run/flanneld",
  ) {
    this.timer = setInterval(() => void this.tick(), 500);
  }

  private async tick(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      for (const [i, host] of this.hosts.entries()) {
        const r = await this.sim.exec(
          host,
          'systemctl is-active flanneld >/dev/null && . /etc/sysconfig/flanneld && echo "$FLANNEL_ETCD_PREFIX"',
        );
        const prefix = r.exitCode === 0 ? r.stdout.trim() : "";
        let config: boolean | undefined = false;
        if (prefix) config = await this.hasConfig(prefix);
        if (config === undefined) continue; // no member answered (one is restarting): decide next tick
        const lease = `FLANNEL_NETWORK=10.1.0.0/16\nFLANNEL_SUBNET=10.1.${10 + i}.1/24\nFLANNEL_MTU=1472\nFLANNEL_IPMASQ=false\n`;
        await this.sim.exec(
          host,
          config
            ? `mkdir -p ${this.runDir} && [ ! -e ${this.runDir}/subnet.env ] && printf '%s' '${lease}' > ${this.runDir}/subnet.env; true`
            : `rm -f ${this.runDir}/subnet.env`,
        );
      }
    } catch {
      // a host rebooting: next tick
    } finally {
      this.busy = false;
    }
  }

  /** Whether etcd holds `<prefix>/config`, asked of each member in turn; undefined when none answers. */
  private async hasConfig(prefix: string): Promise<boolean | undefined> {
    for (const p of this.etcdPorts) {
      const r = await etcdV2(p, "GET", `${prefix}/config`).catch(() => undefined);
      if (r && (r.status === 200 || r.status === 404)) return r.status === 200;
    }
    return undefined;
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
