/**
 * The OSTree remote a release's installation configures, the refs each repository URL serves, and the Fedora GPG
 * keys in /etc/pki/rpm-gpg.
 */
import type { Release } from "./packages";
import { BASES, baseImageForRef } from "./packages";

/**
 * `/etc/ostree/remotes.d/fedora-atomic.conf` as a release's installation leaves it. Fedora 26: byte for byte the
 * capture `real-outputs/ostree-remotes-d-fedora-atomic-conf-01.txt` (F26 AH 26.120). Fedora 27: the same file for
 * the 27 repository and key (no capture of an F27 file was found; the per-release form is the one F26 shows, and
 * the F29 capture `-02` shows the same four keys).
 */
export function fedoraOstreeRemoteConf(release: Release): string {
  return [
    '[remote "fedora-atomic"]',
    `url=https://kojipkgs.fedoraproject.org/atomic/${release}/`,
    "gpg-verify=true",
    `gpgkeypath=/etc/pki/rpm-gpg/RPM-GPG-KEY-fedora-${release}-primary`,
    "",
  ].join("\n");
}

/**
 * Refs an OSTree repository URL serves. In 2017 Fedora published one repository per release
 * (`https://kojipkgs.fedoraproject.org/atomic/26/` holds Fedora 26's refs only: hence the upgrade guide's
 * `ostree remote add ... fedora-atomic-27 https://kojipkgs.fedoraproject.org/atomic/27`,
 * real-outputs/ostree-remote-add-01.txt); the later unified repository (`https://dl.fedoraproject.org/atomic/repo/`,
 * capture -02) holds every release. A URL the simulator does not know serves nothing.
 */
export function ostreeServerRefs(url: string): string[] {
  const u = url.replace(/\/+$/, "");
  const perRelease = /^https?:\/\/kojipkgs\.fedoraproject\.org\/atomic\/(\d+)$/.exec(u);
  if (perRelease) {
    const base = baseImageForRef(`fedora/${perRelease[1]}/x86_64/atomic-host`);
    return base ? [base.ref] : [];
  }
  if (u === "https://dl.fedoraproject.org/atomic/repo") return [BASES[26].ref, BASES[27].ref];
  return [];
}

/** One file of `/etc/pki/rpm-gpg`: a key (placeholder text) or a symlink to one. */
export interface GpgKeyFile {
  name: string;
  text?: string;
  symlinkTo?: string;
}

/**
 * `/etc/pki/rpm-gpg` as the release's fedora-repos package installs it: `RPM-GPG-KEY-fedora-N-primary` for every
 * release from 7 up to the next one (the key of release N+1 is added on N's branch before N+1 branches from
 * rawhide: fedora-repos 27-0.1 "Setup for rawhide being f27" on 2017-02-25 carries the 27 key already, and 27-0.3
 * "Add Fedora 28 key"; a real F26 host used `RPM-GPG-KEY-fedora-27-primary` in the upgrade post,
 * real-outputs/ostree-remote-add-01.txt, and its rebase succeeded, -rebase-01), the `-x86_64` links the spec makes
 * from its archmap, and the `RPM-GPG-KEY-N-fedora` compatibility link. Secondary-architecture keys are left out.
 * The keys are placeholders at the real paths: the simulator checks a key file exists, never a signature.
 */
export function fedoraGpgKeyFiles(release: Release): GpgKeyFile[] {
  const out: GpgKeyFile[] = [];
  for (let n = 7; n <= release + 1; n++) {
    const key = `RPM-GPG-KEY-fedora-${n}-primary`;
    out.push({
      name: key,
      text: `-----BEGIN PGP PUBLIC KEY BLOCK-----\n\n(atomic-host-sim placeholder for ${key})\n-----END PGP PUBLIC KEY BLOCK-----\n`,
    });
    out.push({ name: `RPM-GPG-KEY-fedora-${n}-x86_64`, symlinkTo: key });
  }
  out.push({ name: `RPM-GPG-KEY-${release}-fedora`, symlinkTo: `RPM-GPG-KEY-fedora-${release}-primary` });
  return out;
}
