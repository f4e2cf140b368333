/**
 * System containers with ostree storage: `atomic install --system`, `uninstall`, `containers update|rollback|list`.
 * Modelled on `Atomic/syscontainers.py` (1.20.1; reference §1-§2) — the checkout slots `NAME.0`/`NAME.1`, the
 * `NAME` symlink, the `info` file, unit and tmpfiles rendering, the hostfs copy, and the exact lines printed.
 *
 * Map from atomic's methods to this file:
 *  - `install` → {@link SystemContainers.install} (pull if needed, "already present", `_checkout(deployment=0)`)
 *  - `update_container` → {@link SystemContainers.update} (no pull; other slot; restart only if it was active)
 *  - `rollback` → {@link SystemContainers.rollback}
 *  - `uninstall` → {@link SystemContainers.uninstall}
 *  - `get_containers` + `get_container_runtime_info` → {@link SystemContainers.listContainers}
 */
import * as fs from "fs";
import * as path from "path";
import { RegistryImage, canonicalImageRef, lookupImage, readRegistry, sha256Hex } from "../../catalog";
import { AtomicValueError, CalledProcessError, GLibError, PyOSError, errnoOf } from "./errors";
import { HostEnv, formatRfc3339Local } from "./hostEnv";
import { LocalImage, OstreeImageStore } from "./imageStore";
import { pyJsonDumps, PyValue } from "./pyjson";
import { TemplateKeyError, TemplatePlaceholderError, substituteTemplate } from "./pyTemplate";
import { ToolIo } from "./toolIo";
import { atomicVersion, canonicalizeLocation, imageIdOf } from "./version";

export const ATOMIC_VAR = "/var/lib/containers/atomic";
export const SYSTEMD_UNIT_FILES_DEST = "/etc/systemd/system";
export const SYSTEMD_TMPFILES_DEST = "/etc/tmpfiles.d";
export const RUNC_PATH = "/bin/runc";

/**
 * Points where a test can pause `atomic install --system` (faults.json `pauseAt`, see sim/faults.ts), in the order
 * `_do_checkout` reaches them (projectatomic/atomic V1.12.1 Atomic/syscontainers.py): after the rootfs checkout
 * into NAME.0 (:766-787), before config.json (:833-841); after the unit file and the tmpfiles conf with their copies
 * in the checkout (:920-925), before the NAME symlink (:927-931); after the symlink, before `daemon-reload`,
 * `systemd-tmpfiles --create` and `enable` (:955-962). A client killed there leaves what a killed Python process
 * leaves: SIGKILL, and SIGTERM whose default action ends the process, run no `except` clause.
 */
export const INSTALL_PAUSE_POINTS = [
  "install:after-checkout",
  "install:after-unit",
  "install:after-symlink",
] as const;
export type InstallPausePoint = (typeof INSTALL_PAUSE_POINTS)[number];

/** `DIR/<host>/state/` file the paused command writes: `{ "point": ..., "pid": <the atomic client's pid> }`. */
export const ATOMIC_PAUSE_MARKER = "atomic-paused.json";

/** atomic's unit template for images without `service.template` (reference §1). */
export const SYSTEMD_UNIT_FILE_DEFAULT_TEMPLATE = `
[Unit]
Description=$NAME

[Service]
ExecStartPre=$EXEC_STARTPRE
ExecStart=$EXEC_START
ExecStop=$EXEC_STOP
ExecStopPost=$EXEC_STOPPOST
Restart=on-failure
WorkingDirectory=$DESTDIR
PIDFile=$PIDFILE

[Install]
WantedBy=multi-user.target
`;

/** Capabilities of the F26/F27 kernels (4.13), CAP_CHOWN (0) to CAP_AUDIT_READ (37). */
const KERNEL_CAPABILITIES = [
  "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL", "CAP_SETGID",
  "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN",
  "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT",
  "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE",
  "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL",
  "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND",
  "CAP_AUDIT_READ",
]; // prettier-ignore

/** `_get_all_capabilities`: `",\n".join('"%s"' % cap) + "\n"`, ready to drop into a JSON array. */
export const ALL_PROCESS_CAPABILITIES = KERNEL_CAPABILITIES.map((c) => `"${c}"`).join(",\n") + "\n";

/** The `info` file atomic writes into each checkout (`json.dumps(info, indent=4)`, reference §1). */
export interface ContainerInfo {
  image: string;
  revision: string;
  "ostree-commit": string;
  created: number;
  values: Record<string, string | number>;
  "has-container-service": boolean;
  "installed-files": string[];
  "installed-files-template": string[];
  "rename-installed-files": Record<string, string>;
  "rpm-installed": null;
  "system-package": string;
  remote: string | null;
}

/** One row of `atomic containers list` before formatting. */
export interface ContainerRow {
  id: string;
  imageId: string;
  imageName: string;
  name: string;
  command: string;
  /** Unix seconds. */
  created: number;
  state: "running" | "failed" | "inactive" | "no service";
  backend: string;
  runtime: string;
  running: boolean;
}

/** `_split_set_args`: `K=V` → {K: V}; the first `=` splits. */
export function splitSetArgs(setValues: readonly string[]): Record<string, string> {
  const values: Record<string, string> = {};
  for (const item of setValues) {
    const split = item.indexOf("=");
    if (split < 0) throw new AtomicValueError(`Invalid value '${item}'.  Expected form NAME=VALUE`);
    values[item.slice(0, split)] = item.slice(split + 1);
  }
  return values;
}

/**
 * skopeo's fatal line for a tag the registry does not have (containers/image docker client: "Error reading
 * manifest TAG in REPO: manifest unknown: manifest unknown"; logrus stamps it). **(inferred)** — the reference
 * only says the registry error passes through; the wording is the docker/distribution error skopeo prints.
 */
export function skopeoManifestUnknown(ref: string, now: number, copy: boolean): string {
  const canonical = canonicalImageRef(ref);
  const colon = canonical.lastIndexOf(":");
  const repo = canonical.slice(0, colon);
  const tag = canonical.slice(colon + 1);
  const inner = `Error reading manifest ${tag} in ${repo}: manifest unknown: manifest unknown`;
  const msg = copy ? `Error initializing source docker://${canonical}: ${inner}` : inner;
  return `time="${formatRfc3339Local(now)}" level=fatal msg="${msg}"\n`;
}

/** Render a template the way `_write_template` does, with atomic's wording for a missing value. */
export function renderTemplate(
  inputFileName: string,
  text: string,
  values: Record<string, string | number>,
): string {
  try {
    return substituteTemplate(text, values);
  } catch (e) {
    if (e instanceof TemplateKeyError) {
      throw new AtomicValueError(
        `The template file '${inputFileName}' still contains an unreplaced value for: '${e.message}'`,
      );
    }
    if (e instanceof TemplatePlaceholderError) throw new AtomicValueError(e.message);
    throw e;
  }
}

/**
 * The values a checkout is rendered with (`_amend_values`): what is already there (stored values on update,
 * `--set` values on install) wins; then built-ins, manifest defaults and a UUID fill what is missing; then the
 * forced variables are (re)written. Insertion order is kept because it is the key order of the `info` file.
 */
export function amendValues(
  start: Record<string, string | number>,
  opts: {
    manifestDefaults: Record<string, string> | undefined;
    name: string;
    image: string;
    imageId: string;
    destination: string;
    uuid: string;
  },
): Record<string, string | number> {
  const v: Record<string, string | number> = { ...start };
  const fill = (k: string, val: string | number) => {
    if (!(k in v)) v[k] = val;
  };
  fill("RUN_DIRECTORY", "/run");
  fill("PIDFILE", `${v.RUN_DIRECTORY}/container-${opts.name}.pid`);
  fill("CONF_DIRECTORY", "/etc");
  fill("STATE_DIRECTORY", "/var/lib");
  fill("ALL_PROCESS_CAPABILITIES", ALL_PROCESS_CAPABILITIES);
  for (const [k, val] of Object.entries(opts.manifestDefaults ?? {})) fill(k, val);
  fill("UUID", opts.uuid);
  v.DESTDIR = opts.destination;
  v.NAME = opts.name;
  v.EXEC_START = `${RUNC_PATH} --systemd-cgroup run '${opts.name}'`;
  v.EXEC_STOP = `${RUNC_PATH} --systemd-cgroup kill '${opts.name}'`;
  v.EXEC_STARTPRE = "";
  v.EXEC_STOPPOST = "";
  v.HOST_UID = 0;
  v.HOST_GID = 0;
  v.IMAGE_NAME = opts.image;
  v.IMAGE_ID = opts.imageId;
  return v;
}

/** A deterministic UUID-4-shaped string (atomic uses uuid4(); tests need stable output under a fixed clock). */
export function deterministicUuid(seed: string): string {
  const h = sha256Hex(seed);
  const variant = ((parseInt(h[16], 16) & 0x3) | 0x8).toString(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

export class SystemContainers {
  readonly store: OstreeImageStore;

  constructor(
    private readonly env: HostEnv,
    private readonly io: ToolIo,
    private readonly display = false,
  ) {
    this.store = new OstreeImageStore(env);
  }

  // ----- systemd --------------------------------------------------------------------------------------------

  /** `_systemctl_command`: print the command (unless quiet), run it with `check_output(stderr=DEVNULL)`. */
  systemctl(args: string[], quiet = false): string {
    const cmd = ["systemctl", ...args];
    if (!quiet) this.io.out(cmd.join(" "));
    if (this.display) return "";
    const r = this.io.run(cmd, { capture: true });
    if (r.status !== 0) throw Object.assign(new CalledProcessError(r.status, cmd), { output: r.stdout });
    return r.stdout;
  }

  /** `_systemd_tmpfiles`: print, then `check_call`. */
  tmpfiles(flag: "--create" | "--remove", file: string): void {
    const cmd = ["systemd-tmpfiles", flag, file];
    this.io.out(cmd.join(" "));
    if (this.display) return;
    const r = this.io.run(cmd, { capture: false });
    if (r.status !== 0) throw new CalledProcessError(r.status, cmd);
  }

  isServiceActive(name: string): boolean {
    try {
      return this.systemctl(["is-active", name], true).replace(/\n/g, "") === "active";
    } catch (e) {
      if (e instanceof CalledProcessError) return false;
      throw e;
    }
  }

  /** `_is_service_failed`, including its reading of a non-zero `is-failed` as "failed" unless it said inactive. */
  isServiceFailed(name: string): boolean {
    let isFailed: string;
    try {
      isFailed = this.systemctl(["is-failed", name], true).replace(/\n/g, "");
    } catch (e) {
      if (!(e instanceof CalledProcessError)) throw e;
      isFailed = ((e as CalledProcessError & { output?: string }).output ?? "").replace(/\n/g, "");
      if (isFailed !== "inactive") return true;
    }
    if (isFailed === "failed") return true;
    if (isFailed === "active") return false;
    let status: string;
    try {
      status = this.systemctl(["status", name], true);
    } catch (e) {
      if (!(e instanceof CalledProcessError)) throw e;
      status = (e as CalledProcessError & { output?: string }).output ?? "";
    }
    return status.includes("FAILURE");
  }

  // ----- paths ------------------------------------------------------------------------------------------------

  checkoutPath(): string {
    return this.env.env.ATOMIC_OSTREE_CHECKOUT_PATH || ATOMIC_VAR;
  }

  unitFileOut(name: string): string {
    return `${SYSTEMD_UNIT_FILES_DEST}/${name}.service`;
  }

  tmpfilesOut(name: string): string {
    return `${SYSTEMD_TMPFILES_DEST}/${name}.conf`;
  }

  private exists(p: string): boolean {
    return fs.existsSync(this.env.path(p));
  }

  /** `get_checkout`: the container's symlink path if it resolves. */
  getCheckout(name: string): string | undefined {
    if (name.length === 0) throw new AtomicValueError("Invalid container name");
    const p = `${this.checkoutPath()}/${name}`;
    return this.exists(p) ? p : undefined;
  }

  readInfo(name: string): ContainerInfo {
    const file = this.env.path(`${this.checkoutPath()}/${name}/info`);
    try {
      return JSON.parse(fs.readFileSync(file, "utf8")) as ContainerInfo;
    } catch {
      throw new AtomicValueError(
        `[Errno 2] No such file or directory: '${this.checkoutPath()}/${name}/info'`,
      );
    }
  }

  // ----- pulling ----------------------------------------------------------------------------------------------

  /** The registry this host sees (`$ATOMIC_SIM_CLUSTER_DIR/registry.json`). */
  registryImage(ref: string): RegistryImage | undefined {
    if (!this.env.clusterDir) return undefined;
    return lookupImage(readRegistry(this.env.clusterDir), ref);
  }

  /**
   * `skopeo copy docker://IMG ostree:IMG@REPO` as atomic 1.20 runs it (check_call, so skopeo's own lines show).
   * A tag the registry lacks fails like skopeo does: its fatal line on stderr, exit status 1.
   */
  skopeoCopyToOstree(ref: string): LocalImage {
    const image = this.registryImage(ref);
    if (!image) {
      this.io.errRaw(skopeoManifestUnknown(ref, this.env.now(), true));
      throw new CalledProcessError(1, [
        "skopeo",
        "copy",
        `docker://${ref}`,
        `ostree:${ref}@${this.store.repoLocation()}`,
      ]);
    }
    this.io.out("Getting image source signatures");
    for (const layer of image.layers) this.io.out(`Copying blob ${layer}`);
    this.io.out(`Copying config ${image.digest}`);
    this.io.out("Writing manifest to image destination");
    this.io.out("Storing signatures");
    this.store.importImage(ref, image, this.env.now());
    return this.store.resolve(ref)!;
  }

  /**
   * `_check_system_oci_image`: with `upgrade` false an image already in the repository (all layers present) is
   * left alone; otherwise skopeo re-fetches whatever the tag points at now.
   */
  pullImageToOstree(ref: string, upgrade: boolean): LocalImage {
    const local = this.store.resolve(ref);
    if (!upgrade && local && local.image.layers.every((l) => this.store.hasLayer(l))) return local;
    return this.skopeoCopyToOstree(ref);
  }

  // ----- install ----------------------------------------------------------------------------------------------

  /**
   * `SystemContainers.install` as reached from install.py: the image is made local first (so a re-install still
   * pulls), then an existing checkout short-circuits with "NAME already present" (stdout, exit 0).
   */
  install(image: string, name: string, setArgs: readonly string[], systemPackage: string): number {
    this.store.ensureRepo();
    if (!this.store.resolveNameOrId(image)) {
      // install.py: make_remote_image (skopeo inspect) before pulling; a missing tag fails there.
      if (!this.registryImage(image)) {
        throw new AtomicValueError(skopeoManifestUnknown(image, this.env.now(), false));
      }
      this.pullImageToOstree(image, false);
    }
    if (this.getCheckout(name)) {
      this.io.out(`${name} already present`);
      return 0;
    }
    // `--set NAME=VALUE` is split only after the image is pulled (and after "already present"):
    // projectatomic/atomic V1.12.1 Atomic/syscontainers.py:395-397 (already present), :399 (_pull_image_to_ostree),
    // :406-408 (_split_set_args, "Invalid value '%s'.  Expected form NAME=VALUE", :151-156).
    const setValues = splitSetArgs(setArgs);
    this.checkout(name, image, 0, false, { ...setValues }, systemPackage === "auto" ? "no" : systemPackage);
    return 0;
  }

  /** `_checkout`: refuse to clobber unit/tmpfiles on install; on failure remove what an install created. */
  private checkout(
    name: string,
    image: string,
    deployment: 0 | 1,
    upgrade: boolean,
    values: Record<string, string | number>,
    systemPackage: string,
    installedFiles?: string[],
  ): void {
    const destination = `${this.checkoutPath()}/${name}.${deployment}`;
    const unitOut = this.unitFileOut(name);
    const tmpOut = this.tmpfilesOut(name);
    if (!upgrade) {
      for (const f of [unitOut, tmpOut]) {
        if (this.exists(f)) throw new AtomicValueError(`The file ${f} already exists.`);
      }
    }
    try {
      this.doCheckout(name, image, upgrade, values, destination, systemPackage, installedFiles);
    } catch (e) {
      // 1.20.1 cleans up after GLib.Error too (V1.12.1 syscontainers.py:541); 1.19.1's `except` lists ValueError,
      // OSError, CalledProcessError and KeyboardInterrupt only (v1.19.1 syscontainers.py:484), so a failed ostree
      // checkout leaves its partial NAME.N there.
      const uncaught = e instanceof GLibError && atomicVersion(this.env) === "1.19.1";
      if (!upgrade && !uncaught) {
        for (const p of [destination, unitOut, tmpOut])
          fs.rmSync(this.env.path(p), { recursive: true, force: true });
      }
      throw e;
    }
  }

  private writeRaw(p: string, text: string, mode?: number): void {
    const file = this.env.path(p);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, text);
    if (mode !== undefined) fs.chmodSync(file, mode);
  }

  /**
   * A file atomic writes from Python (`open(...).write`, `shutil.copyfile`): a write that fails (a full disk) raises
   * OSError naming no file, as the buffered write or its close does.
   */
  private writeFile(p: string, text: string, mode?: number): void {
    try {
      this.writeRaw(p, text, mode);
    } catch (e) {
      const err = errnoOf(e);
      if (err) throw new PyOSError(err.errno, err.strerror);
      throw e;
    }
  }

  /**
   * Check the image's layers out into `<destination>/rootfs` (exports included): `os.makedirs(rootfs)`, then
   * libostree's `checkout_at`. Onto another filesystem than the repository's (hardlinks fail with EXDEV) it copies
   * each file, and a failed copy is the GLib.Error "regfile copy: <strerror>" (ostree v2017.12
   * src/libostree/ostree-repo-checkout.c:124-125, G_IO_ERROR from errno).
   */
  private checkoutRootfs(destination: string, image: RegistryImage): void {
    const rootfs = `${destination}/rootfs`;
    try {
      fs.mkdirSync(this.env.path(rootfs), { recursive: true });
    } catch (e) {
      const err = errnoOf(e);
      if (err) throw new PyOSError(err.errno, err.strerror, rootfs);
      throw e;
    }
    const exports = `${rootfs}/exports`;
    try {
      if (image.manifest)
        this.writeRaw(`${exports}/manifest.json`, JSON.stringify(image.manifest, null, 4) + "\n");
      this.writeRaw(`${exports}/config.json.template`, image.configTemplate);
      if (image.serviceTemplate !== null) this.writeRaw(`${exports}/service.template`, image.serviceTemplate);
      if (image.tmpfilesTemplate !== null)
        this.writeRaw(`${exports}/tmpfiles.template`, image.tmpfilesTemplate);
      for (const [p, text] of Object.entries(image.hostfs))
        this.writeRaw(`${exports}/hostfs${p}`, text, 0o755);
      for (const [p, text] of Object.entries(image.rootfs)) this.writeRaw(`${rootfs}${p}`, text, 0o755);
    } catch (e) {
      const err = errnoOf(e);
      if (err) throw new GLibError("g-io-error-quark", `regfile copy: ${err.strerror}`, err.gio);
      throw e;
    }
  }

  /**
   * The test-only fault faults.json `pauseAt: { point, ms }`: at that point of an install, write the marker (with
   * this command's client pid) and wait `ms`, so a test can kill the client there. Not set: nothing happens.
   */
  private pauseAt(point: InstallPausePoint): void {
    const hostDir = this.env.hostDir;
    if (!hostDir) return;
    let fault: { point?: unknown; ms?: unknown } | undefined;
    try {
      fault = JSON.parse(fs.readFileSync(path.join(hostDir, "state", "faults.json"), "utf8")).pauseAt;
    } catch {
      return;
    }
    if (fault?.point !== point || typeof fault.ms !== "number") return;
    const marker = path.join(hostDir, "state", ATOMIC_PAUSE_MARKER);
    fs.writeFileSync(`${marker}.tmp`, JSON.stringify({ point, pid: process.pid }) + "\n");
    fs.renameSync(`${marker}.tmp`, marker);
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, fault.ms);
  }

  /** Bind-mount sources in a rendered config.json that do not exist on the host (`_check_oci_configuration_file`). */
  private missingBindPaths(configPath: string): string[] {
    let config: {
      root?: { readonly?: boolean; path?: string };
      mounts?: Array<{ type?: string; source?: string }>;
    };
    try {
      config = JSON.parse(fs.readFileSync(this.env.path(configPath), "utf8"));
    } catch {
      throw new AtomicValueError(`Invalid json in configuration file: ${configPath}.`);
    }
    if (!config.root?.readonly)
      throw new AtomicValueError("Invalid configuration file.  Only readonly images are supported");
    if (config.root.path !== "rootfs")
      throw new AtomicValueError("Invalid configuration file.  Path must be 'rootfs'");
    return (config.mounts ?? [])
      .filter((m) => m.type !== undefined && m.source !== undefined && m.type.includes("bind"))
      .map((m) => m.source!)
      .filter((src) => !this.exists(src));
  }

  /**
   * `_rm_add_files_to_host` (1.19/1.20): delete the files a previous checkout installed, then copy
   * `exports/hostfs` to the host. A file that already exists is skipped, not overwritten, with
   * "File X already exists." — which is how a contrib host keeps its /etc/etcd/etcd.conf (reference §1, §4).
   * Walk order is sorted so output is stable (os.walk order is directory order on a real host).
   */
  private rmAddFilesToHost(
    oldInstalled: readonly string[] | undefined,
    image: RegistryImage | undefined,
    renameFiles: Record<string, string>,
    templates: readonly string[],
    values: Record<string, string | number>,
    exportsDir: string,
    quiet = false,
  ): string[] {
    for (const f of oldInstalled ?? []) fs.rmSync(this.env.path(f), { force: true });
    if (!image) return [];
    const created: string[] = [];
    for (const src of Object.keys(image.hostfs).sort()) {
      const dest = renameFiles[src] ?? src;
      if (this.exists(dest)) {
        if (!quiet) this.io.out(`File ${dest} already exists.`);
        continue;
      }
      const text = templates.includes(dest)
        ? renderTemplate(`${exportsDir}/hostfs${src}`, image.hostfs[src], values)
        : image.hostfs[src];
      this.writeFile(dest, text, src.includes("/bin/") ? 0o755 : 0o644);
      created.push(dest);
    }
    return created.sort();
  }

  private doCheckout(
    name: string,
    imageRef: string,
    upgrade: boolean,
    startValues: Record<string, string | number>,
    destination: string,
    systemPackage: string,
    installedFiles: string[] | undefined,
  ): void {
    const local = this.store.resolveNameOrId(imageRef);
    if (!local) throw new AtomicValueError(`Image ${imageRef} not found`);
    const image = local.image;
    const exports = `${destination}/rootfs/exports`;
    const unitTemplatePath = `${exports}/service.template`;
    const unitOut = this.unitFileOut(name);
    const tmpOut = this.tmpfilesOut(name);

    this.io.out(`Extracting to ${destination}`);
    // An update restarts the service only if it was running before.
    const wasServiceActive = this.isServiceActive(name);
    if (this.display) return;
    // The checkout, DESTDIR and the NAME symlink use the deployment's path (version.ts, `_canonicalize_location`).
    destination = canonicalizeLocation(this.env, destination, this.store.repoLocation());

    this.checkoutRootfs(destination, image);
    if (!upgrade) this.pauseAt("install:after-checkout");

    const manifest = image.manifest;
    const hasContainerService = !manifest?.noContainerService;
    const imageId = imageIdOf(this.env, image);
    const values = amendValues(startValues, {
      manifestDefaults: manifest?.defaultValues,
      name,
      image: imageRef,
      imageId,
      destination,
      uuid: deterministicUuid(`${this.env.hostDir ?? this.env.root}:${name}:${this.env.now()}`),
    });

    const configPath = `${destination}/config.json`;
    this.writeFile(
      configPath,
      renderTemplate(`${exports}/config.json.template`, image.configTemplate, values),
    );

    if (hasContainerService && upgrade) {
      if (wasServiceActive) this.systemctl(["stop", name]);
      if (this.exists(tmpOut)) {
        try {
          this.tmpfiles("--remove", tmpOut);
        } catch (e) {
          if (!(e instanceof CalledProcessError)) throw e;
        }
      }
    }

    const renameFiles: Record<string, string> = {};
    for (const [k, v] of Object.entries(manifest?.renameFiles ?? {})) {
      try {
        renameFiles[k] = substituteTemplate(v, values);
      } catch (e) {
        if (e instanceof TemplateKeyError) {
          throw new AtomicValueError(
            `The template file 'manifest.json' still contains an unreplaced value for: '${e.message}'`,
          );
        }
        throw e;
      }
    }

    const missing = this.missingBindPaths(configPath);
    const templates = manifest?.installedFilesTemplate ?? [];
    const newInstalled = this.rmAddFilesToHost(
      installedFiles,
      image,
      renameFiles,
      templates,
      values,
      exports,
    );

    const info: ContainerInfo = {
      image: imageRef,
      revision: imageId,
      "ostree-commit": local.rev,
      created: this.env.now(),
      values,
      "has-container-service": hasContainerService,
      "installed-files": newInstalled,
      "installed-files-template": templates,
      "rename-installed-files": renameFiles,
      "rpm-installed": null,
      "system-package": systemPackage,
      remote: null,
    };
    try {
      this.writeFile(`${destination}/info`, pyJsonDumps(info as unknown as PyValue, { indent: 4 }) + "\n");
    } catch (e) {
      // V1.12.1 syscontainers.py:909-912 (v1.19.1 :822-825): the files just copied to the host go, then the error.
      for (const f of newInstalled) fs.rmSync(this.env.path(f), { force: true });
      throw e;
    }

    const systemdTemplate = image.serviceTemplate ?? SYSTEMD_UNIT_FILE_DEFAULT_TEMPLATE;
    const tmpfilesTemplate =
      image.tmpfilesTemplate ?? missing.map((x) => `d    ${x}   0700 0 0 - -\n`).join("");

    if (hasContainerService) {
      const unit = renderTemplate(unitTemplatePath, systemdTemplate, values);
      this.writeFile(unitOut, unit);
      this.writeFile(`${destination}/${name}.service`, unit);
    }
    if (tmpfilesTemplate) {
      // atomic passes the unit template's name here too (a copy-paste slip kept for identical error text).
      const conf = renderTemplate(unitTemplatePath, tmpfilesTemplate, values);
      this.writeFile(tmpOut, conf);
      this.writeFile(`${destination}/tmpfiles-${name}.conf`, conf);
    }

    if (!upgrade) this.pauseAt("install:after-unit");

    const sym = this.env.path(`${this.checkoutPath()}/${name}`);
    fs.rmSync(sym, { force: true });
    fs.symlinkSync(this.env.path(destination), sym);
    if (!upgrade) this.pauseAt("install:after-symlink");

    if (!hasContainerService) {
      fs.rmSync(this.env.path(`${destination}/rootfs`), { recursive: true, force: true });
      return;
    }

    // syscontainers.py V1.12.1 (1.20.1) lines 947-969, the same at v1.19.1: when daemon-reload, tmpfiles, enable
    // or the restart after an update fails, the files just installed on the host and the NAME symlink are
    // deleted and the error goes on. The new checkout and /etc/systemd/system/NAME.service stay (`_checkout`
    // removes the checkout only for an install, line 540), so a later `atomic install --system` stops with
    // "The file /etc/systemd/system/NAME.service already exists." (line 536).
    try {
      // "Created file" only now, after the symlink and only with a service (V1.12.1 :951-953, v1.19.1 :864-866).
      for (const f of newInstalled) this.io.out(`Created file ${f}`);
      this.systemctl(["daemon-reload"]);
      if (tmpfilesTemplate) this.tmpfiles("--create", tmpOut);
      if (!upgrade) this.systemctl(["enable", name]);
      else if (wasServiceActive) this.systemctl(["start", name]);
    } catch (e) {
      if (e instanceof CalledProcessError) {
        for (const f of newInstalled) fs.rmSync(this.env.path(f), { force: true });
        fs.rmSync(sym, { force: true });
      }
      throw e;
    }
  }

  // ----- update / rollback ------------------------------------------------------------------------------------

  /**
   * `update_container`: no pull. The local image (`--rebase` or the installed one) is compared with the recorded
   * revision; unchanged and no changed `--set` → "Latest version already installed.".
   */
  update(name: string, setValues: string[] | undefined, rebase: string | undefined): number {
    if (!this.getCheckout(name)) throw new AtomicValueError(`System container '${name}' is not installed`);
    const info = this.readInfo(name);
    const slot = fs.realpathSync(this.env.path(`${this.checkoutPath()}/${name}`));
    const nextDeployment: 0 | 1 = slot.endsWith(".0") ? 1 : 0;
    const image = rebase ?? info.image;
    const values = { ...info.values };

    let revisionChanged = true;
    if (info.revision) {
      const local = this.store.resolveNameOrId(image);
      if (!local) throw new AtomicValueError(`Image ${image} not found`);
      if (imageIdOf(this.env, local.image) === info.revision) revisionChanged = false;
    }
    let valuesChanged = false;
    for (const [k, v] of Object.entries(splitSetArgs(setValues ?? []))) {
      if (values[k] !== v) valuesChanged = true;
      values[k] = v;
    }
    if (!revisionChanged && !valuesChanged) {
      this.io.out("Latest version already installed.");
      return 0;
    }
    this.checkout(
      name,
      image,
      nextDeployment,
      true,
      values,
      info["system-package"] ?? "no",
      info["installed-files"],
    );
    return 0;
  }

  /** `rollback`: switch the symlink to the other slot and restore that slot's unit and tmpfiles copies. */
  rollback(name: string): number {
    this.io.out(`Attempting to roll back system container: ${name}`);
    const link = `${this.checkoutPath()}/${name}`;
    let current: string;
    try {
      current = fs.realpathSync(this.env.path(link));
    } catch {
      current = this.env.path(link);
    }
    const destination = `${link}.${current.endsWith(".0") ? 1 : 0}`;
    if (!this.exists(destination)) {
      throw new AtomicValueError(
        `Error: Cannot find a previous deployment to rollback located at ${destination}`,
      );
    }
    const info = this.readInfo(name);
    const hasContainerService = info["has-container-service"] ?? true;
    const wasServiceActive = hasContainerService && this.isServiceActive(name);
    const unitOut = this.unitFileOut(name);
    const tmpOut = this.tmpfilesOut(name);
    const unitFile = `${destination}/${name}.service`;
    const tmpFile = `${destination}/tmpfiles-${name}.conf`;
    if (!this.exists(unitFile)) {
      throw new AtomicValueError(
        `Error: Cannot find systemd service file for previous version. The previous checkout at ${destination} may be corrupted.`,
      );
    }
    this.io.out(`Rolling back container ${name} to the checkout at ${destination}`);
    if (wasServiceActive) this.systemctl(["stop", name]);
    if (this.exists(tmpOut)) {
      try {
        this.tmpfiles("--remove", tmpOut);
      } catch (e) {
        if (!(e instanceof CalledProcessError)) throw e;
      }
      fs.rmSync(this.env.path(tmpOut), { force: true });
    }
    fs.rmSync(this.env.path(unitOut), { force: true });
    fs.copyFileSync(this.env.path(unitFile), this.env.path(unitOut));
    if (this.exists(tmpFile)) fs.copyFileSync(this.env.path(tmpFile), this.env.path(tmpOut));

    // The previous slot's hostfs files come back (atomic re-copies them; 1.20 prints nothing for this step).
    let previous: ContainerInfo | undefined;
    try {
      previous = JSON.parse(fs.readFileSync(this.env.path(`${destination}/info`), "utf8")) as ContainerInfo;
    } catch {
      previous = undefined;
    }
    if (info["installed-files"]?.length && previous) {
      const prevImage = this.store.resolve(previous.image)?.image;
      this.rmAddFilesToHost(
        info["installed-files"],
        prevImage,
        previous["rename-installed-files"] ?? {},
        previous["installed-files-template"] ?? [],
        previous.values,
        `${destination}/rootfs/exports`,
        true,
      );
    }

    const sym = this.env.path(link);
    fs.rmSync(sym, { force: true });
    fs.symlinkSync(this.env.path(destination), sym);

    if (hasContainerService) this.systemctl(["daemon-reload"]);
    if (this.exists(tmpFile)) this.tmpfiles("--create", tmpOut);
    if (wasServiceActive) this.systemctl(["start", name]);
    return 0;
  }

  // ----- uninstall --------------------------------------------------------------------------------------------

  /**
   * Uninstall a system container (reference §2): `systemctl disable --now`, `daemon-reload`,
   * `systemd-tmpfiles --remove`, then delete the unit, the tmpfiles conf, every installed file, the symlink and
   * both slots. tmpfiles `d`/`Z` data directories (e.g. /var/lib/etcd/etcd.etcd) stay.
   */
  uninstall(name: string): number {
    const link = `${this.checkoutPath()}/${name}`;
    if (!this.exists(link)) return 0;
    const info = this.readInfo(name);
    const hasContainerService = info["has-container-service"] ?? true;
    const unitOut = this.unitFileOut(name);
    const tmpOut = this.tmpfilesOut(name);
    if (hasContainerService) {
      try {
        this.systemctl(["disable", "--now", name]);
      } catch (e) {
        if (!(e instanceof CalledProcessError)) throw e;
      }
    }
    fs.rmSync(this.env.path(unitOut), { force: true });
    if (hasContainerService) {
      try {
        this.systemctl(["daemon-reload"]);
      } catch (e) {
        if (!(e instanceof CalledProcessError)) throw e;
      }
    }
    if (this.exists(tmpOut)) {
      try {
        this.tmpfiles("--remove", tmpOut);
      } catch (e) {
        if (!(e instanceof CalledProcessError)) throw e;
      }
      fs.rmSync(this.env.path(tmpOut), { force: true });
    }
    for (const f of info["installed-files"] ?? []) fs.rmSync(this.env.path(f), { force: true });
    fs.rmSync(this.env.path(link), { force: true });
    for (const slot of ["0", "1"])
      fs.rmSync(this.env.path(`${link}.${slot}`), { recursive: true, force: true });
    return 0;
  }

  // ----- list -------------------------------------------------------------------------------------------------

  /** `_get_containers_at` + `get_container_runtime_info` over the checkout directory. */
  listContainers(): ContainerRow[] {
    const dir = this.env.path(this.checkoutPath());
    let names: string[];
    try {
      names = fs.readdirSync(dir).sort();
    } catch {
      return [];
    }
    const rows: ContainerRow[] = [];
    for (const x of names) {
      if (x.startsWith(".") || x.endsWith(".0") || x.endsWith(".1")) continue;
      if (!fs.existsSync(path.join(dir, x))) continue;
      let info: ContainerInfo;
      let args: string[];
      try {
        info = JSON.parse(fs.readFileSync(path.join(dir, x, "info"), "utf8"));
        args = JSON.parse(fs.readFileSync(path.join(dir, x, "config.json"), "utf8")).process.args;
      } catch {
        continue;
      }
      const hasService = info["has-container-service"] ?? true;
      const state: ContainerRow["state"] = !hasService
        ? "no service"
        : this.isServiceActive(x)
          ? "running"
          : this.isServiceFailed(x)
            ? "failed"
            : "inactive";
      rows.push({
        id: x,
        imageId: info.revision ?? "",
        imageName: info.image ?? "",
        name: x,
        command: args.join(" "),
        created: info.created ?? 0,
        state,
        backend: "ostree",
        runtime: "runc",
        // For ostree, "running" is anything but inactive (failed and "no service" count).
        running: state !== "inactive",
      });
    }
    return rows;
  }

  /** Image IDs (`info.revision`) of installed containers, without asking systemd anything. */
  installedImageIds(): string[] {
    const dir = this.env.path(this.checkoutPath());
    let names: string[];
    try {
      names = fs.readdirSync(dir);
    } catch {
      return [];
    }
    return names
      .filter((x) => !x.startsWith(".") && !/\.[01]$/.test(x))
      .flatMap((x) => {
        try {
          return [(JSON.parse(fs.readFileSync(path.join(dir, x, "info"), "utf8")) as ContainerInfo).revision];
        } catch {
          return [];
        }
      });
  }
}
