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

/** The perl program: arguments ROOT WORKDIR UID GID ARGV…, UID and GID empty to stay root. */
export const ENTER_PROGRAM = String.raw`
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
exec { $ARGV[0] } @ARGV;
print STDERR "cairn: cannot run $ARGV[0]: $!\n";
exit($! == 2 ? 127 : 126);
`;
