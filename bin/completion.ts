import type { FlagSpec, VerbSpec } from './args.js';

/*
 * Shell completion scripts, generated from the verbs' own specs: verbs, each verb's flags, and for its
 * arguments the names of containers and images (asked of `cairn containers` and `cairn images` when the user
 * presses Tab) or files. bash's script is also zsh's (through bashcompinit); fish gets its own.
 */

/** What a positional argument of a verb names. */
export type ArgKind = 'container' | 'image' | 'either' | 'file';

/** The kinds of a verb's positional arguments, read from its usage line (flags in brackets left out). */
export function argKinds(usage: string): ArgKind[] {
  const words = usage.replace(/\[--[^\]]*\](…)?/g, ' ').replace(/[[\]…]/g, ' ').split(/\s+/).slice(1).filter((w) => /^[A-Z]/.test(w));
  return words.map((w) => {
    const ctr = /\bCTR\b/.test(w);
    const img = /\bIMAGE\b|\bSOURCE\b/.test(w);
    return ctr && img ? 'either' : ctr ? 'container' : img ? 'image' : 'file';
  });
}

/** A verb as completion needs it. */
export interface CompletionVerb {
  name: string;
  spec: VerbSpec;
}

/** Every spelling of a verb's flags (long names and aliases), global ones included, and those that take a value. */
function flagWords(spec: VerbSpec, global: Record<string, FlagSpec>): { all: string[]; valued: string[] } {
  const all: string[] = [];
  const valued: string[] = [];
  for (const [name, f] of Object.entries({ ...global, ...spec.flags })) {
    const spellings = [`--${name}`, ...(f.alias ?? [])];
    all.push(...spellings);
    if (f.kind !== 'bool') valued.push(...spellings);
  }
  return { all, valued };
}

const NAMES = {
  container: `cairn "\${root[@]}" containers --format '{{.ContainerName}}' 2>/dev/null`,
  image: `cairn "\${root[@]}" images --format '{{.Name}}:{{.Tag}}' 2>/dev/null | grep -v '^<none>'`,
};

/** The bash (and zsh) completion script. */
export function bashScript(verbs: CompletionVerb[], global: Record<string, FlagSpec>): string {
  const cases = verbs.map(({ name, spec }) => {
    const f = flagWords(spec, global);
    return `    ${name}) flags=${q(f.all.join(' '))}; valued=${q(` ${f.valued.join(' ')} `)}; kinds=${q(argKinds(spec.usage).join(' '))} ;;`;
  });
  return `# cairn completion for bash (and zsh: autoload -U +X bashcompinit && bashcompinit, then source this)
_cairn() {
  local cur=\${COMP_WORDS[COMP_CWORD]} prev=\${COMP_WORDS[COMP_CWORD-1]} verb= at=0 i n=0 flags= valued= kinds= kind w
  local -a root=()
  for ((i = 1; i < COMP_CWORD; i++)); do
    case \${COMP_WORDS[i]} in
      --root) root=(--root "\${COMP_WORDS[i+1]}"); ((i++)) ;;
      --storage-driver) ((i++)) ;;
      -*) ;;
      *) verb=\${COMP_WORDS[i]}; at=$i; break ;;
    esac
  done
  if [[ -z $verb ]]; then
    case $prev in --root) COMPREPLY=($(compgen -d -- "$cur")); return ;; esac
    COMPREPLY=($(compgen -W ${q(verbs.map((v) => v.name).concat(['help', 'version', '--root', '--storage-driver', '--help', '--version']).join(' '))} -- "$cur"))
    return
  fi
  case $verb in
${cases.join('\n')}
    help) COMPREPLY=($(compgen -W ${q(verbs.map((v) => v.name).join(' '))} -- "$cur")); return ;;
    *) return ;;
  esac
  for ((i = at + 1; i < COMP_CWORD; i++)); do
    w=\${COMP_WORDS[i]}
    if [[ $w == -* ]]; then [[ $valued == *" $w "* ]] && ((i++)); continue; fi
    ((n++))
  done
  if [[ $valued == *" $prev "* ]]; then COMPREPLY=($(compgen -f -- "$cur")); return; fi
  if [[ $cur == -* ]]; then COMPREPLY=($(compgen -W "$flags" -- "$cur")); return; fi
  read -ra kinds <<< "$kinds"
  kind=\${kinds[n]:-file}
  case $kind in
    container) COMPREPLY=($(compgen -W "$(${NAMES.container})" -- "$cur")) ;;
    image) COMPREPLY=($(compgen -W "$(${NAMES.image})" -- "$cur")) ;;
    either) COMPREPLY=($(compgen -W "$(${NAMES.container}; ${NAMES.image})" -- "$cur")) ;;
    *) COMPREPLY=($(compgen -f -- "$cur")) ;;
  esac
}
complete -o default -F _cairn cairn
`;
}

/** The fish completion script. */
export function fishScript(verbs: CompletionVerb[], global: Record<string, FlagSpec>): string {
  const out = ['# cairn completion for fish', 'complete -c cairn -f'];
  const names = verbs.map((v) => v.name);
  out.push(`complete -c cairn -n '__fish_use_subcommand' -a ${q([...names, 'help', 'version'].join(' '))}`);
  out.push(`complete -c cairn -n '__fish_use_subcommand' -l root -r -d 'storage root directory'`);
  for (const { name, spec } of verbs) {
    const when = `-n '__fish_seen_subcommand_from ${name}'`;
    out.push(`complete -c cairn ${when} -d ${q(spec.summary.split('.')[0])}`);
    for (const [flag, f] of Object.entries({ ...global, ...spec.flags })) {
      const short = (f.alias ?? []).filter((a) => /^-[a-zA-Z]$/.test(a)).map((a) => ` -s ${a.slice(1)}`).join('');
      out.push(`complete -c cairn ${when} -l ${flag}${short}${f.kind === 'bool' ? '' : ' -r'} -d ${q(f.help)}`);
    }
    const kinds = new Set(argKinds(spec.usage));
    if (kinds.has('container') || kinds.has('either')) out.push(`complete -c cairn ${when} -a "(cairn containers --format '{{.ContainerName}}' 2>/dev/null)"`);
    if (kinds.has('image') || kinds.has('either')) out.push(`complete -c cairn ${when} -a "(cairn images --format '{{.Name}}:{{.Tag}}' 2>/dev/null | string match -v '<none>*')"`);
    if (kinds.has('file')) out.push(`complete -c cairn ${when} -F`);
  }
  return out.join('\n') + '\n';
}

/** Single-quoted for sh and fish. */
function q(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}
