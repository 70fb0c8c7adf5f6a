import os from 'node:os';

/*
 * Signals while a run step runs. A signal that would end cairn (Ctrl-C, `kill`, a closed terminal) must not
 * end it while a step runs: the step would go on, orphaned, after the container lock was released, and its
 * scaffolding would stay behind as pending changes. So while a step is held (holdSignals), each of these
 * signals is forwarded to every running step instead. When a step dies of a signal forwarded to it, or a
 * signal comes while no step runs (before one starts, while its scaffolding is removed), the signal is kept;
 * once the last hold is released (the step gone, its scaffolding removed, the lock released) it is delivered
 * to this process again, which then ends as it would have (a shell shows 128+N), or runs the handlers an
 * embedding program has of its own. A step that handled the signal and went on (an interactive shell, a
 * program that exits 0 on SIGTERM) keeps cairn going: its status is cairn's.
 */

/** The signals forwarded to a run step and delivered to cairn again once the step is gone. */
export const STEP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT'] as const;

/** One of STEP_SIGNALS. */
export type StepSignal = (typeof STEP_SIGNALS)[number];

const targets = new Set<(sig: StepSignal) => void>();
let holds = 0;
let received: StepSignal | undefined;
/** True once a signal kept for delivery came from outside (not only from interruptSteps). */
let fromOutside = false;
let onInterrupt: ((sig: StepSignal) => void) | undefined;

/**
 * Sets what happens when a held signal is delivered after the step is gone: by default the process ends by that
 * signal; the CLI ends with buildah's status instead (run.ts in bin/).
 */
export function whenInterrupted(fn: (sig: StepSignal) => void): void {
  onInterrupt = fn;
}

function onSignal(sig: NodeJS.Signals): void {
  fromOutside = true;
  forward(sig as StepSignal);
}

function forward(s: StepSignal): void {
  if (targets.size === 0) received ??= s;
  for (const t of targets) t(s);
}

/** A request of interruptSteps kept for the next step to hold signals (opts.keep). */
let requested: StepSignal | undefined;

/**
 * Forwards sig to every running run step (its whole process group, through its reaper) as if cairn had received
 * it: the steps end as they would by Ctrl-C, and once they are gone the whenInterrupted handler runs. Unlike a real
 * signal, with no handler set the process is not ended by it. While no step is held it does nothing, unless
 * opts.keep: then the next step to hold signals gets it as it starts (a Ctrl-C typed while a step is still being
 * set up), until the returned function drops the request.
 */
export function interruptSteps(sig: StepSignal = 'SIGINT', opts: { keep?: boolean } = {}): () => void {
  if (holds > 0) forward(sig);
  else if (opts.keep) requested = sig;
  return () => {
    if (requested === sig) requested = undefined;
  };
}

/**
 * Holds the step signals until the returned release is called (holds nest): they are forwarded to the running
 * steps instead of ending the process. The last release delivers the signal kept, if any.
 */
export function holdSignals(): () => void {
  if (holds++ === 0) {
    for (const s of STEP_SIGNALS) process.on(s, onSignal);
    if (requested) received ??= requested;
    requested = undefined;
  }
  let done = false;
  return () => {
    if (done) return;
    done = true;
    if (--holds > 0) return;
    for (const s of STEP_SIGNALS) process.removeListener(s, onSignal);
    const sig = received;
    const outside = fromOutside;
    received = undefined;
    fromOutside = false;
    if (!sig) return;
    if (onInterrupt) onInterrupt(sig);
    // With no listener left the default action ends the process, exactly as the signal would have (never for
    // one that only interruptSteps sent: the embedding program asked for the steps to stop, not itself).
    else if (outside) process.kill(process.pid, sig);
  };
}

/** The step signal to deliver when the hold ends, if any: a step must not start then. */
export function interrupted(): StepSignal | undefined {
  return received;
}

/** Keeps sig for delivery when the hold ends (a step died of it). */
export function deliverLater(sig: StepSignal): void {
  received ??= sig;
}

/** Registers a running step to receive forwarded signals (and the one kept, if any); returns its removal. */
export function forwardTo(fn: (sig: StepSignal) => void): () => void {
  targets.add(fn);
  // A signal kept while no step was registered yet (its mounts were being prepared) reaches it at once.
  if (received) fn(received);
  return () => targets.delete(fn);
}

/** The shell's status of a process ended by sig: 128 + its number. */
export function signalStatus(sig: NodeJS.Signals): number {
  return 128 + (os.constants.signals[sig] ?? 0);
}
