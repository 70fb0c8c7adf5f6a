import { createHash } from 'node:crypto';

/*
 * A step's identity: the step cache's key for its result. It chains the identity of the step before (the base
 * image's ID for a stage's first step, an earlier stage's last identity for a stage built on it), the
 * instruction's text, and what else decides what the step makes: the build args it can see, the environment,
 * working directory and shell a RUN runs with, heredoc bodies, and the content COPY and ADD read (or the
 * identity of the stage, or the ID of the image, they read from). Equal identities, equal results.
 */

/** The identity of a stage's base: an image ID, `scratch`, or `stage:IDENTITY` for an earlier stage. */
export function baseIdentity(imageId: string | undefined): string {
  return sha(`base\n${imageId ?? 'scratch'}`);
}

/** The identity of a step after parent: the instruction's text and the inputs it depends on, in order. */
export function stepIdentity(parent: string, instruction: string, inputs: readonly string[] = []): string {
  return sha([parent, instruction, ...inputs].join('\n\0'));
}

/** What a step depends on besides its text, as stepIdentity's inputs (each part labelled, so no two parts can run together). */
export interface StepInputs {
  /** `K=V` a RUN would see (ENV, ARGs, proxy args). */
  env: readonly string[];
  /** The declared ARGs with a value. */
  args: Readonly<Record<string, string>>;
  heredocs: readonly string[];
  workdir: string;
  shell: readonly string[];
  /** Content digests and references (dockerfile cache inputs of COPY, ADD and RUN mounts). */
  content: readonly string[];
}

/** The inputs of a step as stepIdentity takes them. */
export function stepInputs(i: StepInputs): string[] {
  return [
    `env ${JSON.stringify(i.env)}`, `args ${JSON.stringify(i.args)}`, `heredocs ${JSON.stringify(i.heredocs)}`,
    `workdir ${i.workdir}`, `shell ${JSON.stringify(i.shell)}`, `content ${JSON.stringify(i.content)}`,
  ];
}

function sha(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}
