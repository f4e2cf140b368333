/**
 * flanneld as the simulator runs it: a unit is ready only once flanneld has a lease.
 *
 * The real units wait for the lease. Fedora 26's RPM `flanneld.service` is `Type=notify` (flanneld notifies after
 * it wrote `/run/flannel/subnet.env`) and its `ExecStartPost=mk-docker-opts.sh -d /run/flannel/docker`; the
 * F27 system container's unit (projectatomic/atomic-system-containers `flannel/service.template`) is
 * `Type=notify`, `NotifyAccess=all`, and its `flanneld-run.sh` sources the host's `/etc/sysconfig/flanneld`,
 * starts flanneld, waits `while test ! -e /run/flannel/subnet.env`, runs mk-docker-opts.sh, then
 * `systemd-notify --ready`; a real host shows `ExecStartPost=... while test ! -s /run/flannel/docker`
 * (real-outputs/systemctl-status-flannel-01.txt). flanneld (0.7) gets a lease only after it read the network
 * config from etcd's v2 API at `<FLANNEL_ETCD_PREFIX>/config`; until then it retries, so the start job ends when
 * the unit's start timeout is exceeded.
 *
 * Here: the unit's process is a placeholder; `systemctl start` polls the endpoints for `<prefix>/config`; once it
 * is there it takes a lease (`<prefix>/subnets/<net>-<len>`, TTL 24 h, as flanneld's etcd subnet manager does),
 * writes `subnet.env` and the `docker` options file, and the unit is active.
 */
import * as http from "http";

/** FLANNEL_ETCD_PREFIX when /etc/sysconfig/flanneld sets none (Fedora's flannel sysconfig and the image default). */
export const DEFAULT_FLANNEL_PREFIX = "/atomic.io/network";

/**
 * The network config kubernetes/contrib's ansible writes for a cluster (its defaults `flannel_subnet: 172.16.0.0`,
 * `flannel_prefix: 12`, `flannel_host_prefix: 24`, vxlan backend), as a running contrib cluster's etcd holds it.
 */
export const CONTRIB_NETWORK_CONFIG =
  '{ "Network": "172.16.0.0/12", "SubnetLen": 24, "Backend": { "Type": "vxlan" } }';

/** One etcd v2 request against 127.0.0.1:port; resolves with status and body, or null when nothing answers. */
export function etcdV2(
  port: number,
  method: "GET" | "PUT" | "DELETE",
  key: string,
  form?: Record<string, string>,
  timeoutMs = 1000,
): Promise<{ status: number; body: string } | null> {
  return new Promise((resolve) => {
    const payload = form ? new URLSearchParams(form).toString() : undefined;
    const req = http.request(
      {
        host: "127.0.0.1",
        port,
        method,
        path: `/v2/keys${key.startsWith("/") ? "" : "/"}${key}`,
        timeout: timeoutMs,
        headers: payload
          ? {
              "Content-Type": "application/x-www-form-urlencoded",
              "Content-Length": Buffer.byteLength(payload),
            }
          : {},
      },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (d: string) => (body += d));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on("timeout", () => req.destroy());
    req.on("error", () => resolve(null));
    if (payload) req.write(payload);
    req.end();
  });
}

/** Ports of the endpoints in a FLANNEL_ETCD_ENDPOINTS value already mapped to the host's loopback. */
export function endpointPorts(mappedEndpoints: string): number[] {
  const out: number[] = [];
  for (const raw of mappedEndpoints.split(",")) {
    try {
      const u = new URL(raw.trim());
      out.push(Number(u.port || "80"));
    } catch {
      // not a URL: flanneld would fail to connect to it too
    }
  }
  return out;
}

/** The network config flanneld reads: `{Network, SubnetLen}` from `<prefix>/config`. */
export interface NetworkConfig {
  network: string;
  subnetLen: number;
  backend: string;
}

export function parseNetworkConfig(value: string): NetworkConfig | null {
  try {
    const c = JSON.parse(value) as { Network?: string; SubnetLen?: number; Backend?: { Type?: string } };
    if (!c.Network || !/^\d+\.\d+\.\d+\.\d+\/\d+$/.test(c.Network)) return null;
    return { network: c.Network, subnetLen: c.SubnetLen ?? 24, backend: c.Backend?.Type ?? "udp" };
  } catch {
    return null;
  }
}

/** The first endpoint that serves `<prefix>/config` and its value, or null. */
export async function readNetworkConfig(
  ports: number[],
  prefix: string,
): Promise<{ port: number; config: NetworkConfig } | null> {
  for (const port of ports) {
    const r = await etcdV2(port, "GET", `${prefix}/config`);
    if (r?.status !== 200) continue;
    try {
      const value = (JSON.parse(r.body) as { node?: { value?: string } }).node?.value;
      const config = value === undefined ? null : parseNetworkConfig(value);
      if (config) return { port, config };
    } catch {
      // a broken answer: try the next endpoint
    }
  }
  return null;
}

function ipToInt(ip: string): number {
  return ip.split(".").reduce((n, o) => n * 256 + Number(o), 0);
}

function intToIp(n: number): string {
  return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join(".");
}

/**
 * Take a lease: `previous` (the subnet of an earlier subnet.env, which flanneld 0.7 asks for again) when free,
 * else the lowest free subnet of the network. Returns the subnet (`a.b.c.0/len`) or null when the network is full.
 */
export async function acquireLease(
  port: number,
  prefix: string,
  config: NetworkConfig,
  previous: string | undefined,
): Promise<string | null> {
  const listing = await etcdV2(port, "GET", `${prefix}/subnets`);
  const taken = new Set<string>();
  if (listing?.status === 200) {
    try {
      const nodes = (JSON.parse(listing.body) as { node?: { nodes?: { key: string }[] } }).node?.nodes ?? [];
      for (const n of nodes) taken.add(n.key.slice(n.key.lastIndexOf("/") + 1));
    } catch {
      // treat as empty
    }
  }
  const [netIp, netLenText] = config.network.split("/");
  const netLen = Number(netLenText);
  const base = ipToInt(netIp);
  const count = 2 ** (config.subnetLen - netLen);
  const size = 2 ** (32 - config.subnetLen);
  const candidates: string[] = [];
  if (previous) candidates.push(previous);
  // SubnetMin defaults to the network's second subnet (flannel's configuration docs); flanneld picks at random
  // among the free ones, here the lowest free one is taken so runs are repeatable.
  for (let i = 1; i < count && candidates.length < 4096; i++)
    candidates.push(`${intToIp(base + i * size)}/${config.subnetLen}`);
  const ownedByUs = previous ? previous.replace("/", "-") : undefined;
  for (const subnet of candidates) {
    const key = subnet.replace("/", "-");
    if (taken.has(key) && key !== ownedByUs) continue;
    const r = await etcdV2(port, "PUT", `${prefix}/subnets/${key}`, {
      value: JSON.stringify({ PublicIP: "127.0.0.1", BackendType: config.backend }),
      ttl: "86400",
    });
    if (r && (r.status === 200 || r.status === 201)) return subnet;
  }
  return null;
}

/** `/run/flannel/subnet.env` as flanneld 0.7 writes it (`WriteSubnetFile`: network, subnet, MTU, IP masquerade). */
export function renderSubnetEnv(config: NetworkConfig, subnet: string): string {
  const [ip, len] = subnet.split("/");
  const gw = intToIp(ipToInt(ip) + 1);
  const mtu = config.backend === "vxlan" ? 1450 : 1472;
  return `FLANNEL_NETWORK=${config.network}\nFLANNEL_SUBNET=${gw}/${len}\nFLANNEL_MTU=${mtu}\nFLANNEL_IPMASQ=false\n`;
}

/** `mk-docker-opts.sh -k DOCKER_NETWORK_OPTIONS -d /run/flannel/docker` from a subnet.env text. */
export function renderDockerOpts(subnetEnv: string): string {
  const get = (k: string) => new RegExp(`^${k}=(.*)$`, "m").exec(subnetEnv)?.[1] ?? "";
  const bip = `--bip=${get("FLANNEL_SUBNET")}`;
  const masq = `--ip-masq=${get("FLANNEL_IPMASQ") === "true" ? "false" : "true"}`;
  const mtu = `--mtu=${get("FLANNEL_MTU")}`;
  return (
    `DOCKER_OPT_BIP="${bip}"\nDOCKER_OPT_IPMASQ="${masq}"\nDOCKER_OPT_MTU="${mtu}"\n` +
    `DOCKER_NETWORK_OPTIONS=" ${bip} ${masq} ${mtu}"\n`
  );
}

/** The FLANNEL_SUBNET network of an earlier subnet.env (`172.16.5.1/24` → `172.16.5.0/24`), if any. */
export function previousSubnet(subnetEnv: string | undefined): string | undefined {
  const m = subnetEnv ? /^FLANNEL_SUBNET=(\d+\.\d+\.\d+\.\d+)\/(\d+)$/m.exec(subnetEnv) : null;
  if (!m) return undefined;
  const len = Number(m[2]);
  const mask = len === 0 ? 0 : (2 ** 32 - 2 ** (32 - len)) >>> 0;
  return `${intToIp((ipToInt(m[1]) & mask) >>> 0)}/${len}`;
}
