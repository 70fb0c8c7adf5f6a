import { BadInputError, NotFoundError } from '../core/errors.js';
import { hostArch, type Descriptor } from '../oci/types.js';

/** An image platform: os, architecture and, for some (arm), a variant. */
export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

/** Parses `--platform os/arch[/variant]` (as podman and skopeo's --override-os/--override-arch say it). */
export function parsePlatform(s: string): Platform {
  const parts = s.split('/');
  if (parts.length < 2 || parts.length > 3 || parts.some((p) => !/^[a-z0-9._-]+$/.test(p))) {
    throw new BadInputError(`invalid platform ${JSON.stringify(s)}`, { hint: 'write --platform OS/ARCH[/VARIANT], such as linux/arm64 or linux/arm/v7' });
  }
  return { os: parts[0], architecture: parts[1], ...(parts[2] ? { variant: parts[2] } : {}) };
}

/** The platform of this machine, with the arm variant Node was built for (arm64 is v8). */
export function hostPlatform(): Platform {
  const architecture = hostArch();
  if (architecture === 'arm64') return { os: 'linux', architecture, variant: 'v8' };
  if (architecture === 'arm') {
    const v = (process.config.variables as { arm_version?: string }).arm_version;
    return { os: 'linux', architecture, ...(v ? { variant: `v${v}` } : {}) };
  }
  return { os: 'linux', architecture };
}

/** The platform as text: `linux/arm64/v8`. */
export function formatPlatform(p: Platform): string {
  return [p.os, p.architecture, p.variant].filter(Boolean).join('/');
}

/** True when an index entry's variant is what want asks (arm64 entries often leave out their v8). */
function variantFits(entry: string | undefined, want: Platform): boolean {
  if (want.variant === undefined || entry === want.variant) return true;
  return entry === undefined && want.architecture === 'arm64' && want.variant === 'v8';
}

/**
 * The index entry for want: same os and architecture, and the variant asked (an entry without one fits
 * arm64/v8, and any variant fits when none is asked: the first is taken). Entries without a platform, and
 * attestation entries (`unknown/unknown`), never fit. NotFoundError lists the platforms there are.
 */
export function choosePlatform(manifests: Descriptor[], want: Platform, where: string): Descriptor {
  const fits = manifests.filter((d) => d.platform && d.platform.os === want.os && d.platform.architecture === want.architecture && variantFits(d.platform.variant, want));
  // An exact variant beats one that only fits.
  const exact = fits.find((d) => d.platform?.variant === want.variant);
  const hit = exact ?? fits[0];
  if (hit) return hit;
  const there = manifests.filter((d) => d.platform && d.platform.os !== 'unknown').map((d) => formatPlatform(d.platform!));
  throw new NotFoundError(`${where} has no image for ${formatPlatform(want)}`, {
    hint: there.length ? `it has ${[...new Set(there)].join(', ')}: choose one with --platform` : 'the index names no platforms',
  });
}
