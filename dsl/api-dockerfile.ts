import type { FromOptions, StoreOptions } from './api.js';
import type { RegistryOptions } from './transport/transports.js';

/*
 * `cairn build -f Dockerfile CONTEXT`: a Dockerfile turned into the calls a script makes. Each needed stage is a
 * working container (from its image, scratch, or an earlier stage's result); each instruction one step, printed
 * as `STEP n/N: TEXT`; the last stage is committed with the tags, and every container the build made is removed.
 * Layers: one for the whole build over the base (as buildah), one per file-changing instruction with `layers`, one
 * with the base too with `squash`, and a boundary at each `# checkpoint MESSAGE` line.
 */

/** Options of buildDockerfile. */
export interface DockerfileBuildOptions extends StoreOptions, RegistryOptions {
  /** The build context directory (COPY and ADD sources are found in it). */
  context: string;
  /** The Dockerfile: a path, or `-` with its text in `text` (default: CONTEXT/Dockerfile, else CONTEXT/Containerfile). */
  file?: string;
  /** The Dockerfile's text (with file `-`, or to build text that is in no file). */
  text?: string;
  /** Names (tags) for the image. */
  tags?: readonly string[];
  /** Values of the Dockerfile's ARGs. */
  buildArgs?: Readonly<Record<string, string>>;
  /** Secret files RUN --mount=type=secret,id=ID sees: `{ ID: hostFile }`. */
  secrets?: Readonly<Record<string, string>>;
  /** Build up to this stage (by name or index) and commit it; later stages and those it does not need are skipped. */
  target?: string;
  /** One layer per instruction that changes files (default: one layer for the whole build over the base). */
  layers?: boolean;
  /** One layer holding the whole tree, base included. */
  squash?: boolean;
  /** Labels added to the image's config: `K=V` strings or an object. */
  labels?: readonly string[] | Readonly<Record<string, string>>;
  /** Clamp file and history times to this epoch (default $SOURCE_DATE_EPOCH): the same inputs give the same image ID. */
  timestamp?: number | string;
  /** The image's form: oci (default) or docker (Docker schema 2 manifest, config and layer media types, as buildah's). */
  format?: 'oci' | 'docker';
  /** Also write the image ID (sha256:…) to this file. */
  iidfile?: string;
  /** When FROM fetches an image: missing (default), always or never. */
  pull?: FromOptions['pull'];
  /** A containers-policy.json file FROM images must satisfy. */
  signaturePolicy?: string;
  /** With layers: run every step, the step cache's records not taken (they are still written). */
  noCache?: boolean;
  /** With layers: step cache exports to take hits from: OCI layout directories cacheTo wrote, or registry repositories (`HOST/REPO`, `docker://HOST/REPO`). */
  cacheFrom?: readonly string[];
  /** With layers: write the step cache records this build made or took, with their images, into this OCI layout directory, or push them to this registry repository tagged by their keys. */
  cacheTo?: string;
  /** As buildah's --quiet: no `--> Using cache` lines, and what RUN steps print on stdout is dropped (their stderr still shows). */
  quiet?: boolean;
}

/** Builds an image from a Dockerfile and a context directory; resolves to its ID and names. */
export async function buildDockerfile(opts: DockerfileBuildOptions): Promise<{ id: string; names: string[] }> {
  // The builder and the parser are one module loaded here: a verb that builds nothing never loads them.
  return (await import('./api-dockerfile-build.js')).runDockerfileBuild(opts);
}
