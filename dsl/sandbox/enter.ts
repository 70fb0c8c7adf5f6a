import { ENV_VAR } from './env.js';

/*
 * The last host step of a run: enter the container root, take the step's user and group, set the command's
 * environment, exec the command. It is a short perl program (perl-base is part of every Debian system) because
 * the environment must not exist before the root is entered: an image's LD_PRELOAD, LD_LIBRARY_PATH or
 * GCONV_PATH given to a host program (env, setsid, unshare), started as root, would load a library the image
 * names from the host — and the store's layer trees are at paths an image author can predict. perl starts with
 * only ENV_VAR, parses the `export 'K=V'` lines env.ts wrote, chroots, drops ids (setreuid, so the saved id goes
 * too), replaces its whole environment and execs: no host program ever starts with the image's environment.
 */

/** The perl program up to the exec: arguments ROOT WORKDIR UID GID ARGV…, UID and GID empty to stay root. */
const ENTER = String.raw`
my ($root, $wd, $uid, $gid) = splice(@ARGV, 0, 4);
my $e = $ENV{${ENV_VAR}} // '';
my @kv;
while ($e =~ /export '((?:[^']|'\\'')*)'/g) { (my $x = $1) =~ s/'\\''/'/g; push @kv, $x; }
chroot($root) or die "cairn: cannot enter the container root: $!\n";
chdir($wd) or die "cairn: cannot change to the working directory $wd: $!\n";
if ($gid ne '') {
  ($(, $)) = ($gid, "$gid $gid");
  die "cairn: cannot take the group $gid: $!\n" if $( != $gid || $) != $gid;
}
if ($uid ne '') {
  ($<, $>) = ($uid, $uid);
  die "cairn: cannot take the user $uid: $!\n" if $< != $uid || $> != $uid;
}
%ENV = ();
for (@kv) { my ($k, $v) = split /=/, $_, 2; $ENV{$k} = $v; }
$SIG{INT} = $SIG{QUIT} = 'DEFAULT';
`;

/**
 * Closes every descriptor but 0-2 (before the root is entered: /proc/self/fd is the host's): a run step gets its
 * stdio only, as under runc, never a pipe, socket or namespace its caller happened to have open (a build
 * platform's control socket, make's jobserver).
 */
const CLOSE_FDS = String.raw`if (opendir(my $fds, '/proc/self/fd')) {
  my @n = grep { /^\d+$/ && $_ > 2 } readdir($fds);
  closedir($fds);
  for my $n (@n) { my $h; close($h) if open($h, '<&=', $n) || open($h, '>&=', $n); }
}
`;

/** A process group of the command's own, made once its signals are back to their default (see enterProgram). */
const OWN_GROUP = String.raw`setpgrp(0, 0) or die "cairn: cannot make a process group: $!\n";
`;

/** The exec, and the status of a command that could not be run (127 not found, else 126). */
const EXEC = String.raw`exec { $ARGV[0] } @ARGV;
print STDERR "cairn: cannot run $ARGV[0]: $!\n";
exit($! == 2 ? 127 : 126);
`;

/**
 * The perl program: arguments ROOT WORKDIR UID GID ARGV…, UID and GID empty to stay root. `cairn exec` keeps the
 * caller's process group (the service is the process). A run step's command (ownGroup) gets a group of its own,
 * made only once SIGINT and SIGQUIT are back to their default (a background job of sh starts with both ignored):
 * the launcher, which waits for that group to exist before it signals it, never has a signal ignored. A run step
 * also gets no descriptor but 0-2 (CLOSE_FDS); a service keeps the ones it was given (socket activation).
 */
export function enterProgram(opts: { ownGroup?: boolean } = {}): string {
  return (opts.ownGroup ? CLOSE_FDS : '') + ENTER + (opts.ownGroup ? OWN_GROUP : '') + EXEC;
}
