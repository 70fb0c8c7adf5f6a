import { UsageError } from '../../dsl/index.js';
import { GLOBAL, type Parsed, type VerbSpec } from '../args.js';
import type { VerbContext } from '../verb.js';
import { VERB_MODULES } from '../verb-modules.js';
import { bashScript, fishScript, type CompletionVerb } from '../completion.js';

/** `cairn completion`: print a shell completion script. */
export const spec: VerbSpec = {
  name: 'completion',
  usage: 'completion bash|zsh|fish',
  summary: 'Print the completion script for bash, zsh or fish (verbs, flags, container and image names), made from the verbs\' own definitions.',
  example: 'cairn completion bash > /etc/bash_completion.d/cairn',
  flags: {},
  min: 1,
  max: 1,
};

/** Prints the script. */
export async function main(p: Parsed, ctx: VerbContext): Promise<void> {
  const shell = p.args[0];
  if (shell !== 'bash' && shell !== 'zsh' && shell !== 'fish') throw new UsageError(`no completion for ${shell}: give bash, zsh or fish`);
  const verbs: CompletionVerb[] = [];
  for (const [name, load] of Object.entries(VERB_MODULES)) verbs.push({ name, spec: (await load()).spec });
  verbs.push({ name: 'shell', spec: (await import('./shell.js')).spec }, { name: 'completion', spec });
  const text = shell === 'fish' ? fishScript(verbs, GLOBAL) : bashScript(verbs, GLOBAL);
  // zsh runs the bash script through bashcompinit (compinit first, unless the user's zshrc ran it).
  const zsh = "(( $+functions[compdef] )) || { autoload -U +X compinit && compinit -u; }\nautoload -U +X bashcompinit && bashcompinit\n";
  ctx.out(shell === 'zsh' ? zsh + text : text);
}
