import { createHash } from 'node:crypto';

/*
 * A step's identity: what a step cache would key its result by. It chains the identity of the step before
 * (the base image's ID for a stage's first step), the instruction as expanded, and what else decides what the
 * step makes (the environment of a RUN, the digests of the files a COPY reads). Equal identities, equal results.
 */

/** The identity of a stage's base: an image ID, or `scratch`. */
export function baseIdentity(imageId: string | undefined): string {
  return sha(`base\n${imageId ?? 'scratch'}`);
}

/** The identity of a step after parent: the instruction's expanded text and the inputs it depends on, in order. */
export function stepIdentity(parent: string, instruction: string, inputs: readonly string[] = []): string {
  return sha([parent, instruction, ...inputs].join('\n\0'));
}

function sha(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}
