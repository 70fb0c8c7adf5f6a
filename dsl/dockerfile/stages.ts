/*
 * The stage graph: which stages a target needs. A stage depends on another through `FROM <stage>`,
 * `COPY --from=<stage>` (or ADD) and `RUN --mount=…,from=<stage>`; a reference is a stage name (any case) or the
 * 0-based index of an earlier stage, and anything else is an image. Only earlier stages may be named: a
 * reference to the stage itself or a later one is a cycle and an error, as a name that a later FROM defines.
 * References holding `$` are expanded with the global ARGs (what FROM lines see) before they are looked up.
 */
import { dockerfileError } from './errors.js';
import { expandWord, type Lookup } from './expand.js';
import type { Dockerfile, Instruction, Stage } from './model.js';
import { BadInputError } from '../core/errors.js';

/**
 * The stage ref names when it names one of the stages before index `before` (a name, any case, or an index);
 * undefined when it is an image reference. Naming the stage itself or a later one is an error.
 */
export function stageRef(df: Dockerfile, ref: string, before: number, at?: Instruction): Stage | undefined {
  const place = at?.place ?? df.stages[Math.min(before, df.stages.length - 1)]?.from.place ?? { file: df.file, line: 1, column: 1 };
  const lower = ref.toLowerCase();
  if (/^[0-9]+$/.test(ref)) {
    const i = Number(ref);
    if (i < before) return df.stages[i];
    throw dockerfileError(place, `stage ${i} is not an earlier stage (this is stage ${before})`, 'refer only to a stage defined above this line, by its name or index');
  }
  const found = df.stages.find((s) => s.name === lower);
  if (!found) return undefined;
  if (found.index < before) return found;
  throw dockerfileError(
    place,
    found.index === before ? `stage ${JSON.stringify(lower)} refers to itself` : `stage ${JSON.stringify(lower)} is defined later (a cycle)`,
    'refer only to a stage defined above this line',
  );
}

/** The `from=` of a `--mount` value (`type=bind,from=build,target=/x`), if any. */
function mountFrom(value: string): string | undefined {
  for (const part of value.split(',')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim().toLowerCase() === 'from') return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** The references an instruction makes to other stages or images (COPY/ADD --from, RUN --mount from=). */
export function instructionRefs(ins: Instruction): string[] {
  const out: string[] = [];
  for (const f of ins.flags) {
    if (f.value === undefined) continue;
    if (f.name === 'from' && (ins.keyword === 'COPY' || ins.keyword === 'ADD')) out.push(f.value);
    if (f.name === 'mount' && ins.keyword === 'RUN') {
      const from = mountFrom(f.value);
      if (from !== undefined) out.push(from);
    }
  }
  return out;
}

/** The stages stage `s` uses directly (its FROM and its --from references), each checked. */
export function stageDeps(df: Dockerfile, s: Stage, lookup: Lookup = () => undefined): Stage[] {
  const expand = (ref: string, ins: Instruction) => (ref.includes('$') ? expandWord(ref, lookup, df.escape, ins.place) : ref);
  const refs: [string, Instruction][] = [[s.from.args[0] ?? '', s.from]];
  for (const ins of s.instructions) for (const r of instructionRefs(ins)) refs.push([r, ins]);
  const out: Stage[] = [];
  for (const [ref, ins] of refs) {
    const dep = stageRef(df, expand(ref, ins), s.index, ins);
    if (dep && !out.includes(dep)) out.push(dep);
  }
  return out;
}

/**
 * The stages the target (a stage name; default the last stage) needs, itself included, in Dockerfile order.
 * `lookup` expands `$` in FROM and --from references (BuildScope.fromLookup); without it they expand to nothing.
 */
export function neededStages(df: Dockerfile, target?: string, lookup?: Lookup): Stage[] {
  let last = df.stages[df.stages.length - 1];
  if (target !== undefined) {
    const found = df.stages.find((s) => s.name === target.toLowerCase());
    if (!found) {
      const names = df.stages.filter((s) => s.name).map((s) => s.name);
      throw new BadInputError(`${df.file}: no stage named ${JSON.stringify(target)} (--target)`, {
        hint: names.length ? `the stages are named: ${names.join(', ')}` : 'no stage has a name: add AS NAME to a FROM line',
      });
    }
    last = found;
  }
  const need = new Set<Stage>();
  const visit = (s: Stage) => {
    if (need.has(s)) return;
    need.add(s);
    for (const d of stageDeps(df, s, lookup)) visit(d);
  };
  visit(last);
  return df.stages.filter((s) => need.has(s));
}
