import { shq } from '../core/shquote.js';

/*
 * How a command's environment reaches it without ever being an argument. Every local user can read any
 * process's /proc/PID/cmdline; /proc/PID/environ only the same user (and root). So `run` and `exec` hand the
 * environment to their launcher (a host /bin/sh) in one environment variable, ENV_VAR, holding `export 'K=V'`
 * lines; the launcher unexports everything it received, does its mounts and passes ENV_VAR on to enter.ts's
 * program, which parses the lines, enters the root and execs the command with exactly that environment. No
 * shell ever evaluates the lines, so any name an image config may hold (`spring.profiles.active`) passes.
 */

/** The environment variable that carries the command's environment, as `export 'K=V'` lines, to the launcher. */
export const ENV_VAR = 'CAIRN_CMD_ENV';

/** The environment as `export 'K=V'` lines (entries without '=' or with an empty name are left out, as execve would). */
export function envScript(env: string[]): string {
  return env.filter((e) => e.indexOf('=') > 0).map((e) => `export ${shq(e)}`).join('\n');
}

/** Shell lines for a launcher started with ENV_VAR as its whole environment: save it in $1, unexport it (and PWD and SHLVL, which sh adds). */
export const TAKE_ENV = `set -- "$${ENV_VAR}"; unset ${ENV_VAR} PWD SHLVL`;

/**
 * Shell lines for a launcher started with the caller's environment too: save ENV_VAR in $1 (positional
 * parameters cannot be named by an unset) and unexport every variable the shell received, so that what the
 * command gets is exactly what enter.ts's program sets later. `command unset` keeps a read-only name from ending
 * the shell; a line of a multi-line value that looks like `export X=…` only unsets one more variable.
 */
export const CLEAR_ENV = [
  `set -- "$${ENV_VAR}"`,
  'set -f; IFS=\'\n\'',
  'for l in $(export -p); do case $l in "export "*=*) l=${l#export }; command unset "${l%%=*}" 2>/dev/null;; "declare -x "*=*) l=${l#declare -x }; command unset "${l%%=*}" 2>/dev/null;; esac; done',
  `unset l; IFS=' \t\n'; set +f`,
].join('\n');
