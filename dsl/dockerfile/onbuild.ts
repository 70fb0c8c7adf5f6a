import { dockerfileError } from './errors.js';
import { parseDockerfile } from './parse.js';
import type { Instruction, Place } from './model.js';

/*
 * The ONBUILD triggers a base image carries (its config's OnBuild: instruction texts), as instructions to run
 * right after the FROM that names the image, as Docker and buildah run them. Each is parsed on its own; its
 * place is `IMAGE ONBUILD:N:COL` (N: the trigger's position), so an error names the trigger.
 */

/** The trigger text as an instruction; throws the parser's error for one that is not a Dockerfile instruction. */
export function triggerInstruction(text: string, image: string, n: number): Instruction {
  const file = `${image} ONBUILD`;
  const df = parseDockerfile(`FROM scratch\n${text}\n`, file);
  const instr = df.stages[0]?.instructions[0];
  if (!instr || df.stages.length !== 1 || df.stages[0].instructions.length !== 1 || instr.keyword === 'MAINTAINER') {
    throw dockerfileError({ file, line: n, column: 1 }, `the trigger ${JSON.stringify(text)} is not one instruction ONBUILD can run`, `the image ${image} carries it in its config (OnBuild): rebuild that image without it`);
  }
  const at = (p: Place): Place => ({ file, line: n, column: p.column });
  return { ...instr, place: at(instr.place), flags: instr.flags.map((f) => ({ ...f, place: at(f.place) })) };
}
