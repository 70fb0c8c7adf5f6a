/**
 * The cairn library: working containers, images and transports, and flat signed images, for build scripts
 * and the CLI (bin/ imports nothing else of dsl/). What a call needs of the engine is loaded when it is made,
 * so importing this file stays cheap for every verb.
 *
 * @packageDocumentation
 */

/** @internal Opens the store (`root`, else $CAIRN_ROOT, else the per-user default). */
export { store, type StoreOptions } from './api.js';
/** The storage root a call uses: `root`, else $CAIRN_ROOT, else /var/lib/cairn for root and the XDG data dir for others. */
export { storeRoot } from './api.js';
/** Creates a working container from an image reference (`scratch`, a stored name, `oci:DIR`, `tarball:FILE`…). */
export { from, type FromOptions } from './api.js';
/** Opens a working container by name or ID, or all of them. */
export { container, containers } from './api.js';
/** A run of a build script (cairn build): what it made, and its containers settled when it ends; and those failed runs left, kept for inspection. */
export { BuildRun, failedBuildContainers, type LeftContainer } from './api-build.js';
/** Builds an image from a Dockerfile and a context directory, as `cairn build -f Dockerfile CONTEXT` does (docs/dockerfile.md). */
export { buildDockerfile, type DockerfileBuildOptions } from './api-dockerfile.js';
/** Opens a stored image by name or ID, or all of them. */
export { image, images } from './api.js';
/** Copies an image from a transport into the store. */
export { pull, type PullCallOptions } from './api.js';
/** Options of a docker:// registry (credentials, auth file, TLS verification, certificate directory, platform), as skopeo spells them. */
export type { RegistryOptions } from './transport/transports.js';
/** Copies every image of a repository, a skopeo sync YAML file or a directory of OCI layouts to a registry prefix or a directory, like `skopeo sync`. */
export { sync, type SyncCallOptions, type SyncResult, type SyncSource, type SyncDestination } from './api-sync.js';
/** Copies an image from any transport to any other, like `skopeo copy`. */
export { copyImage, type CopyImageOptions } from './api.js';
/** Logs in to a registry (credentials checked, then stored in the auth file or its credential helper), logs out, and names the user stored. */
export { login, logout, loginUser, type LoginCallOptions, type LoginResult, type LogoutCallOptions } from './api-login.js';
/** Removes stored images, refusing one a container was made from unless forced, then collects garbage. */
export { removeImages, type RemoveImagesOptions } from './api.js';
/** Writes a container or stored image, by name, as one flat tarball signed with the local key (docs/export.md). */
export { exportFlat } from './api.js';
/** Removes what nothing references: blobs, layers, leftovers of interrupted verbs, unused exec cache entries. */
export { gc } from './api.js';
/** Verifies the whole store (blobs, references, leftovers of interrupted verbs); `repair: true` removes what is broken. */
export { check } from './api.js';
/** Runs cairn again inside the user's cairn namespace (how a normal user's verb reaches the store). */
export { reexecInNamespace } from './api.js';
/** Sets what happens when a signal held while a run step ran is delivered after it (the CLI exits 1, as buildah). */
export { whenInterrupted } from './api.js';
/** Forwards a signal (SIGINT by default) to every running run step, as if cairn had received it, without ending the process. */
export { interruptSteps } from './sandbox/interrupt.js';
/** The host path of a path inside a container's tree, by the one in-root resolver (symlinks followed as if the tree were '/', never leaving it). */
export { resolveInRoot } from './layer/inroot.js';
/** Describes a container, a stored image or an image at a transport reference, as JSON-ready data. */
export { inspect, type InspectOptions } from './inspect.js';
/** Facts about this installation and host for a bug report (`cairn info`). */
export { info, type InfoFacts } from './info.js';
/** A working container (run, copy, add, config, checkpoint, rollback, diff, pending, layers, mount, commit, export, rename, remove). */
export { Container, type CommitCallOptions, type ConfigCallEdits, type CopyCallOptions } from './api-container.js';
/** A run step as zx shapes one (chain .nothrow(), .quiet(), .pipe()), its output (stdout, stderr, exitCode, lines(), json()), a failed step's error, and its options. */
export { RunPromise, RunOutput, RunError, type RunCallOptions, type Interpolation } from './api-run.js';
/** A stored image (inspect, layers, tag, push to any transport, a registry too, export, remove). */
export { Image, type ExportCallOptions, type ImageInfo, type PushCallOptions } from './api-image.js';
/** The local signing key and the trusted keys: generate, show, trust, list. */
export { keys, type KeyInfo } from './api-flat.js';
/** Verifies a flat signed tarball, a file or an http(s) URL, against the trusted keys and the signature policy. */
export { verify } from './api-flat.js';
/** Verifies a flat signed image and prepares (prepareExec), runs as a child (runExec) or both (exec) the command that runs it in place. */
export { exec, prepareExec, runExec } from './api-flat.js';
/** Fetches or updates a flat signed image at a URL into the exec cache (reusing cached segments when URL.cidx exists), or reports what that would download. */
export { fetchImage } from './api-flat.js';
/** Options and result of fetchImage(). */
export type { FetchOptions, FetchImageResult } from './exec/fetch-image.js';
/** The error family: the CLI prints `cairn VERB: message` and the hint of each. */
export { CairnError, NotFoundError, ConflictError, BadInputError, SignatureError, UsageError, isCairnError, asCairnError } from './core/errors.js';
/** The engine's event stream (step-start, output, progress, warn, step-end), for loggers and shells. */
export { events, type CairnEvent } from './core/events.js';
/** mkdir -p that reports, rather than loops on, a parent refusing new entries (/proc, /sys). */
export { makeDirs, makeDirsSync } from './core/fsutil.js';
/** Writes a file whole or not at all (temp file + rename), for files a verb writes for automation (--iidfile). */
export { writeFileAtomic } from './core/atomic.js';
/** zx's `$` for host commands in build scripts, with its `cd` and `within`, and the script's arguments parsed as zx parses them (`argv._` the rest). */
export { $, cd, within, argv } from './script.js';
/** The name closest to a mistyped one (within two edits), if any: how cairn suggests a verb or an option. */
export { didYouMean } from './core/nearest.js';
/** What Container.config may edit. */
export type { ConfigEdits } from './container/config.js';
/** Options of Container.commit. */
export type { CommitOptions } from './container/commit.js';
/** The form an image is written in: `oci` (the default) or `docker` (Docker schema 2), as commit's and build's `format`. */
export type { ImageFormat } from './image/format.js';
/** A pending change with its size and a stamp that differs whenever it changed (Container.pending). */
export type { PendingEntry } from './container/pending.js';
/** One layer of a container the dive way (Container.layers), and one path it adds, changes or deletes. */
export type { LayerView, ChangedPath } from './container/layer-view.js';
/** Bytes in a human unit, as du -h writes them (the shell's layer view, the CLI's progress). */
export { humanBytes } from './container/layer-view.js';
/** One pending change (`cairn diff`): A, C or D and the path. */
export type { Change } from './layer/entry.js';
/** What exportFlat, Container.export and Image.export wrote. */
export type { ExportResult } from './container/export.js';
/** What gc() removed. */
export type { GcResult } from './store/gc.js';
/** Options and result of check(). */
export type { CheckOptions, CheckResult } from './store/check.js';
/** Options and result of verify(). */
export type { VerifyOptions, VerifyResult } from './exec/verify-file.js';
/** Options and result of prepareExec() and exec(). */
export type { ExecOptions, PreparedExec } from './exec/start.js';
/** What a run step's stdout can be piped into: a writable stream, another run step, or a zx `$` command. */
export type { PipeTarget } from './api-run.js';
/** An OCI image manifest and image config, as inspect gives them. */
export type { Manifest, ImageConfig, RunConfig, History, Descriptor } from './oci/types.js';
/** When from() fetches an image: missing, always or never. */
export type { PullPolicy } from './image/resolve.js';
/** The compression of pushed layers: gzip, zstd or none. */
export type { Compression } from './layer/compress.js';
/** Options of checkpoint (beyond its message) and of export. */
export type { CheckpointOptions } from './container/checkpoint.js';
/** Options of an export (sign, compression, timestamp). */
export type { ExportOptions, FlatCompression } from './container/export.js';
/** Which kind of bad input an error reports, for callers that tell kinds apart (never the message). */
export type { ErrorKind } from './core/errors.js';
/** Options of writeFileAtomic. */
export type { AtomicWriteOptions } from './core/atomic.js';
/** Where a long item's progress events go (a step's ID and the item's name). */
export type { ProgressTarget } from './core/progress.js';
/** The prepared command that runs a flat image in place (prepareExec, runExec). */
export type { Launch } from './exec/launch.js';
