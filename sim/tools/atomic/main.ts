/**
 * The `atomic` stand-in: dispatch a parsed command line and map failures to atomic's exit codes (the `atomic`
 * entry script: ValueError → message on stderr, exit 1; CalledProcessError → empty line on stderr, the child's
 * status; argparse → exit 2).
 *
 * Verbs: install, uninstall, pull, info, containers list|update|rollback, images list|info.
 */
import { canonicalImageRef } from "../../catalog";
import { ArgparseError, AtomicValueError, CalledProcessError } from "./errors";
import { AtomicCommand, InstallArgs, parseAtomicCommandLine } from "./cli";
import {
  checkContainerFilters,
  filterContainers,
  ImageRow,
  renderContainersList,
  renderImageInfo,
  renderImagesList,
} from "./format";
import { HostEnv, hostEnvFromProcess } from "./hostEnv";
import { DockerImageRecord, defaultSystemName } from "./imageStore";
import { templatePlaceholders } from "./pyTemplate";
import { SystemContainers, skopeoManifestUnknown } from "./systemContainers";
import { atomicVersion, imageIdOf } from "./version";
import { ToolIo, processToolIo } from "./toolIo";

const ACCEPTED_SYSTEM_PACKAGE = ["auto", "build", "no", "yes"];

/** Variables atomic sets itself; `atomic info` leaves them out of the template variables (1.20). */
const TEMPLATE_FORCED_VARIABLES = [
  "DESTDIR", "NAME", "EXEC_START", "EXEC_STOP", "EXEC_STARTPRE", "EXEC_STOPPOST", "HOST_UID", "HOST_GID",
  "IMAGE_ID", "IMAGE_NAME",
]; // prettier-ignore
/** Variables the OS sets but `--set` may override (shown as `{SET_BY_OS}`). */
const TEMPLATE_OVERRIDABLE_VARIABLES = [
  "RUN_DIRECTORY",
  "STATE_DIRECTORY",
  "CONF_DIRECTORY",
  "UUID",
  "PIDFILE",
];

/** `BackendUtils.message_backend_change('docker', 'ostree')`. */
const BACKEND_CHANGE_NOTE =
  "\nNote: Switching from the 'docker' backend to the 'ostree' backend based on the 'atomic.type' label in the " +
  "image.  You can use --storage to override this behaviour.\n";

export class AtomicTool {
  private readonly sc: SystemContainers;

  constructor(
    private readonly env: HostEnv,
    private readonly io: ToolIo,
    display = false,
  ) {
    this.sc = new SystemContainers(env, io, display);
  }

  run(command: AtomicCommand): number {
    switch (command.verb) {
      case "version":
        // Atomic/__init__.py __version__ at v1.19.1 / V1.12.1; the release follows the booted deployment.
        this.io.out(atomicVersion(this.env));
        return 0;
      case "install":
        return this.install(command.args);
      case "uninstall":
        return this.uninstall(command.image, command.storage);
      case "pull":
        return this.pull(command.image, command.storage);
      case "info":
        return this.info(command.image, command.storage, command.remote);
      case "containers list": {
        const err = checkContainerFilters(command.filters);
        if (err) throw new AtomicValueError(err);
        const rows = filterContainers(this.sc.listContainers(), command.filters);
        for (const line of renderContainersList(rows, command)) this.io.out(line);
        return 0;
      }
      case "containers update":
        return this.sc.update(command.container, command.setValues, command.rebase);
      case "containers rollback":
        return this.sc.rollback(command.container);
      case "images list":
        return this.imagesList(command);
    }
  }

  private install(a: InstallArgs): number {
    if ((a.system || a.user) && a.storage !== undefined && a.storage !== "ostree") {
      throw new AtomicValueError(
        "The --system and --user options are only available for the 'ostree' storage.",
      );
    }
    if (!ACCEPTED_SYSTEM_PACKAGE.includes(a.systemPackage)) {
      throw new AtomicValueError(
        `Invalid --system-package mode.  Accepted values: '${ACCEPTED_SYSTEM_PACKAGE.join("', '")}'`,
      );
    }
    // `--set` is only split (and checked) by SystemContainers._install, after the pull: see SystemContainers.install.
    const setValues = a.setValues ?? [];
    const name = a.name ?? defaultSystemName(a.image);
    if (a.system || a.user) return this.sc.install(a.image, name, setValues, a.systemPackage);
    if (a.storage === "ostree") {
      if (a.setValues?.length)
        throw new AtomicValueError("--set is valid only when used with --system or --user");
      return this.sc.install(a.image, name, setValues, a.systemPackage);
    }
    // Docker storage: an image labelled atomic.type=system is redirected to ostree unless --storage was given.
    const remote = this.sc.registryImage(a.image);
    if (!remote) throw new AtomicValueError(skopeoManifestUnknown(a.image, this.env.now(), false));
    if (remote.labels["atomic.type"] === "system" && a.storage === undefined) {
      this.io.out(BACKEND_CHANGE_NOTE);
      return this.sc.install(a.image, name, setValues, a.systemPackage);
    }
    // A docker install runs the image's LABEL INSTALL; none of the catalogued images has one, so it only pulls.
    this.pullToDocker(a.image);
    return 0;
  }

  /** `skopeo copy docker://IMG docker-daemon:IMG` (docker backend pull), recorded for `images list`. */
  private pullToDocker(image: string): void {
    const remote = this.sc.registryImage(image);
    if (!remote) throw new AtomicValueError(skopeoManifestUnknown(image, this.env.now(), false));
    // DockerBackend.pull_image announces the fully qualified name (tag defaulted to latest, Atomic/util.py:986-987;
    // Atomic/objects/image.py:112-122) before skopeo copy: projectatomic/atomic V1.12.1 Atomic/backends/_docker.py:345.
    this.io.out(`Pulling ${canonicalImageRef(image)} ...`);
    this.io.out("Getting image source signatures");
    for (const layer of remote.layers) this.io.out(`Copying blob ${layer}`);
    this.io.out(`Copying config ${remote.digest}`);
    this.io.out("Writing manifest to image destination");
    this.io.out("Storing signatures");
    new DockerImageRecord(this.env).record(image, remote, this.env.now());
  }

  private uninstall(name: string, _storage: string | undefined): number {
    if (this.sc.getCheckout(name)) return this.sc.uninstall(name);
    // `--storage` is only a preference: uninstall does not pass `required` (projectatomic/atomic V1.12.1
    // Atomic/uninstall.py:54), so the other backends are searched too and the error is the generic one
    // (Atomic/backendutils.py:85-101), with or without `--storage`.
    throw new AtomicValueError(`Unable to find '${name}' in the following backends: docker, ostree`);
  }

  /**
   * `atomic pull`: default storage is docker (/etc/atomic.conf `default_storage`); an image labelled
   * `atomic.type=system` switches to ostree with a note unless `--storage` was given. An ostree pull always
   * re-fetches the tag's current digest. ValueErrors are wrapped as "Failed: ...".
   */
  private pull(image: string, storage: string | undefined): number {
    let backend = storage ?? "docker";
    if (backend !== "ostree" && backend !== "docker") {
      throw new AtomicValueError("Destination not known, please choose --storage=ostree|docker");
    }
    try {
      if (backend === "docker") {
        const remote = this.sc.registryImage(image);
        if (!remote) throw new AtomicValueError(skopeoManifestUnknown(image, this.env.now(), false));
        if (remote.labels["atomic.type"] === "system" && storage === undefined) {
          backend = "ostree";
          this.io.out(BACKEND_CHANGE_NOTE);
        }
      }
      if (backend === "ostree") {
        this.sc.store.ensureRepo();
        this.sc.pullImageToOstree(image, true);
      } else this.pullToDocker(image);
    } catch (e) {
      if (e instanceof AtomicValueError) throw new AtomicValueError(`Failed: ${e.message}`);
      throw e;
    }
    return 0;
  }

  private info(image: string, storage: string | undefined, remote: boolean): number {
    const local = remote ? undefined : this.sc.store.resolveNameOrId(image);
    if (local) {
      const img = local.image;
      const variables = new Set<string>();
      for (const t of [img.configTemplate, img.serviceTemplate, img.tmpfilesTemplate]) {
        if (t === null) continue;
        for (const v of templatePlaceholders(t)) if (!TEMPLATE_FORCED_VARIABLES.includes(v)) variables.add(v);
      }
      const withDefault: Record<string, string> = { ...(img.manifest?.defaultValues ?? {}) };
      for (const v of TEMPLATE_OVERRIDABLE_VARIABLES) withDefault[v] = "{SET_BY_OS}";
      const toSet = [...variables].filter((v) => !(v in withDefault));
      this.io.out(renderImageInfo(image, img.labels, withDefault, toSet));
      return 0;
    }
    if (storage === "ostree") throw new AtomicValueError(`Image ${image} not found`);
    const r = this.sc.registryImage(image);
    if (!r) throw new AtomicValueError(skopeoManifestUnknown(image, this.env.now(), false));
    this.io.out(renderImageInfo(image, r.labels, undefined, undefined));
    return 0;
  }

  private imagesList(cmd: Extract<AtomicCommand, { verb: "images list" }>): number {
    const used = new Set(this.sc.installedImageIds());
    const rows: ImageRow[] = [];
    for (const img of this.sc.store.list()) {
      const ref = canonicalImageRef(img.ref);
      const colon = ref.lastIndexOf(":");
      const id = imageIdOf(this.env, img.image);
      rows.push({
        repo: ref.slice(0, colon),
        tag: ref.slice(colon + 1),
        id,
        created: img.pulled,
        virtualSize: img.image.virtualSize,
        backend: "ostree",
        type: "system",
        used: used.has(id),
        dangling: false,
      });
    }
    if (cmd.all) {
      for (const layer of this.sc.store.listLayers()) {
        rows.push({
          repo: "<none>",
          tag: "",
          id: layer.hex,
          created: 0,
          virtualSize: undefined,
          backend: "ostree",
          type: "system",
          used: false,
          dangling: true,
        });
      }
    }
    for (const d of new DockerImageRecord(this.env).list()) {
      const colon = d.ref.lastIndexOf(":");
      rows.push({
        repo: d.ref.slice(0, colon),
        tag: d.ref.slice(colon + 1),
        id: imageIdOf(this.env, d.image),
        created: d.image.created,
        virtualSize: d.image.virtualSize,
        backend: "docker",
        type: "docker",
        used: false,
        dangling: false,
      });
    }
    // Both forms carry their own final newline (output_json's write_out; the table's last write_out("")).
    this.io.outRaw(renderImagesList(rows, cmd).text);
    return 0;
  }
}

/** Run `atomic ARGV...`; returns the exit status. */
export function main(argv: readonly string[], env: NodeJS.ProcessEnv = process.env, io?: ToolIo): number {
  const hostEnv = hostEnvFromProcess(env);
  const tio = io ?? processToolIo(env);
  const parsed = parseAtomicCommandLine(argv);
  try {
    if (!parsed.ok) {
      if (parsed.usage) {
        tio.out(`usage: ${parsed.prog} [-h] ...`);
        return 1;
      }
      throw new ArgparseError(parsed.prog, parsed.message);
    }
    const display = parsed.command.verb === "install" && parsed.command.args.display;
    return new AtomicTool(hostEnv, tio, display).run(parsed.command);
  } catch (e) {
    if (e instanceof ArgparseError) {
      // HelpByDefaultArgumentParser.error (projectatomic/atomic v1.19.1 and V1.12.1, `atomic`:79-82) writes
      // `'%s: %s' % (self.prog, message)`: the parser's prog on both lines ("atomic" for the top-level parser,
      // "atomic install" for a subcommand's), not argv[0].
      tio.errRaw(`${e.prog}: ${e.message}\nTry '${e.prog} --help' for more information.\n`);
      return 2;
    }
    if (e instanceof CalledProcessError) {
      tio.errRaw("\n");
      return e.returncode;
    }
    if (e instanceof Error) {
      tio.errRaw(`${e.message}\n`);
      return 1;
    }
    throw e;
  }
}
