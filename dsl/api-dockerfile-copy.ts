import { promises as fsp } from 'node:fs';
import path from 'node:path';
import type { Container } from './api-container.js';
import type { CopyCallOptions } from './api-container.js';
import { BadInputError } from './core/errors.js';
import type { BuildState, StageState } from './api-dockerfile-steps.js';
import type { Instruction } from './dockerfile/model.js';
import { contextSources } from './dockerfile/context-sources.js';
import * as ex from './dockerfile/expand.js';
import { heredocText } from './dockerfile/heredoc-text.js';

/*
 * COPY and ADD of a Dockerfile: sources from the context (checked, globs expanded, .dockerignore applied), from an
 * earlier stage or an image (--from), or heredocs written as files; then Container.copy or Container.add.
 */

const at = (i: Instruction) => `${i.place.file}:${i.place.line}:${i.place.column}`;

/** Runs a COPY or ADD instruction on the stage's container. */
export async function copyStep(st: BuildState, s: StageState, instr: Instruction): Promise<void> {
  const lookup = (n: string) => s.scope.lookup(n);
  const flag = (name: string) => {
    const f = instr.flags.find((x) => x.name === name);
    return f ? ex.expandWord(f.value ?? '', lookup, st.df.escape, f.place) : undefined;
  };
  const words = instr.json ? instr.args.map((a) => ex.expandWord(a, lookup, st.df.escape, instr.place)) : ex.expandWords(instr.args.join(' '), lookup, st.df.escape, instr.place);
  if (words.length < 2) throw new BadInputError(`${at(instr)}: ${instr.keyword} needs a source and a destination`, { hint: `${instr.keyword} SRC… DEST` });
  const dest = words[words.length - 1];
  const named = words.slice(0, -1);
  if (instr.flags.some((f) => f.name === 'checksum')) throw new BadInputError(`${at(instr)}: ADD --checksum is not supported yet`, { hint: 'check the download in a RUN step (sha256sum -c)' });
  const opts: CopyCallOptions = {};
  const chown = flag('chown');
  const chmod = flag('chmod');
  if (chown) opts.chown = chown;
  if (chmod) opts.chmod = chmod;
  const fromRef = flag('from');
  let sources: string[];
  if (instr.heredocs.length) {
    sources = await heredocFiles(st, s, instr, named);
  } else if (fromRef !== undefined) {
    // Paths inside a stage or an image: as given (the engine resolves them inside that root).
    const stage = st.stageRef(fromRef, s.stage.index);
    let src: string | Container = fromRef;
    if (stage) {
      const built = st.stages.get(stage.index);
      if (!built) throw new BadInputError(`${at(instr)}: --from=${fromRef}: that stage was not built`);
      src = built.c;
    }
    opts.from = src;
    sources = named;
  } else {
    sources = await contextSources(st.ctx, named, instr.place, () => st.tmpDir());
  }
  if (instr.keyword === 'ADD') await s.c.add(sources, dest, opts);
  else await s.c.copy(sources, dest, opts);
}

/** The files of `COPY <<NAME… DEST`: each heredoc named among the sources, written (variables expanded unless quoted) under its name. */
async function heredocFiles(st: BuildState, s: StageState, instr: Instruction, named: string[]): Promise<string[]> {
  const dir = await st.tmpDir();
  const out: string[] = [];
  for (const n of named) {
    const m = /^<<-?(["']?)([^"']+)\1$/.exec(n);
    const h = m && instr.heredocs.find((d) => d.name === m[2]);
    if (!h) throw new BadInputError(`${at(instr)}: ${instr.keyword} mixes heredocs and other sources (${n})`, { hint: 'copy the heredocs and the files in two instructions' });
    const file = path.join(dir, h.name);
    await fsp.writeFile(file, heredocText(h, (v) => s.scope.lookup(v), st.df.escape), { mode: 0o644 });
    await fsp.chmod(file, 0o644);
    out.push(file);
  }
  return out;
}
