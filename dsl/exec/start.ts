import os from 'node:os';
import { CairnError } from '../core/errors.js';
import { ENV_VAR } from '../sandbox/env.js';
import { defaultRoot } from '../store/paths.js';
import { holdEntry } from './cache.js';
import { execImage } from './exec.js';
import { execContext, launchCommand, launchText, type Launch } from './launch.js';

/*
 * The start of `cairn exec`, in one call: the image verified (or found unchanged in the cache), the chain
 * that runs it in place (launch.ts), and that chain wrapped to hold its cache entry while it runs.
 */

/** Options of prepareExec. */
export interface ExecOptions {
  /** The store root whose exec cache is used (default: $CAIRN_ROOT or the per-user default). */
  root?: string;
  /** Accept signatures by this key only: a public key PEM file or an identity string. */
  key?: string;
  /** Also apply this signature policy file (a valid signature is always required). */
  signaturePolicy?: string;
  /** Run an unsigned or untrusted image, with a warning (never one the policy rejects). */
  insecure?: boolean;
  /** The command and its arguments (default: the image config's). */
  cmd?: string[];
  /** Replaces the config's Entrypoint ([] for none) and, as `podman run --entrypoint` does, its Cmd. */
  entrypoint?: string[];
  /** Environment edits, K=V (or K- to remove). */
  env?: string[];
  /** Host paths bound in: HOST:CTR[:ro]. */
  volumes?: string[];
  /** A writable root (changes go to a tmpfs and vanish at exit). */
  writable?: boolean;
  /** The uid of the process that will start the chain (default: this process's). */
  hostUid?: number;
}

/** The command that runs an image in place: argv, the value of the environment variable that carries its environment, and the shell text that starts it. */
export interface PreparedExec extends Launch {
  /** `NAME=VALUE exec ARGV…`: what a shell evals to become the chain, the environment out of every argv. */
  text: string;
}

/** Verifies (or finds in the exec cache) a flat signed image, FILE or URL, and prepares the command that runs it in place. */
export async function prepareExec(source: string, o: ExecOptions = {}): Promise<PreparedExec> {
  const hostUid = o.hostUid ?? process.getuid!();
  const img = await execImage(source, { storeRoot: o.root ?? defaultRoot(), key: o.key, signaturePolicy: o.signaturePolicy, insecure: o.insecure });
  const launch = await launchCommand(img, {
    cmd: o.cmd ?? [],
    entrypoint: o.entrypoint,
    env: o.env ?? [],
    volumes: o.volumes ?? [],
    writable: o.writable ?? false,
    context: execContext(hostUid),
    hostUid,
  });
  launch.argv = holdEntry(img, launch.argv);
  return { ...launch, text: launchText(launch) };
}

/**
 * Runs a prepared command as a child (where this process cannot be replaced by it), forwarding SIGINT,
 * SIGTERM, SIGHUP and SIGQUIT to it; resolves to its exit status (128+N when a signal ended it).
 */
export async function runExec({ argv, env }: Launch): Promise<number> {
  const { spawn } = await import('node:child_process');
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0], argv.slice(1), { stdio: 'inherit', env: { ...process.env, [ENV_VAR]: env } });
    const forward = (sig: NodeJS.Signals) => child.kill(sig);
    const sigs = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT'] as const;
    for (const sig of sigs) process.on(sig, forward);
    const done = () => sigs.forEach((sig) => process.off(sig, forward));
    child.on('error', (e) => {
      done();
      reject(new CairnError(`cannot start ${argv[0]}: ${e.message}`));
    });
    child.on('close', (code, sig) => {
      done();
      resolve(code ?? 128 + (sig ? os.constants.signals[sig] : 0));
    });
  });
}
