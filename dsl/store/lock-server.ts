import type { ChildProcess } from 'node:child_process';
import { close, fstat, open, read, writeSync, type Stats } from 'node:fs';
import { CairnError } from '../core/errors.js';

/*
 * The lock server: one small perl process per cairn process holds all of its kernel file locks (flock(2)), so
 * that a lock costs a line on a pipe rather than a process (Node.js has no flock(2) of its own).
 *
 * Requests, one a line on the server's stdin:  `L ID S|X WAIT SECONDS PATH` (take), `U ID` (release, no reply).
 * Replies on its stdout: `ID ok`, `ID busy` (WAIT 0 and the lock is taken), `ID timeout`, `ID err MESSAGE`.
 * A free lock is taken at once by the server itself; a lock to wait for is waited for by a child of the server
 * (blocked in the kernel, so the server goes on answering: a release may be what frees it), which then keeps
 * it until its release. The server ends when the cairn process does, for any reason (SIGKILL included); its
 * children end with it, and the kernel drops their locks. It ignores the signals a terminal sends the whole
 * process group (the verb decides when it is done) and names itself `cairn-locks`, so that a /proc/locks
 * reader can name the cairn process behind it (its parent).
 *
 * Two ways to start it. The `cairn` wrapper starts it in the background beside node, with the PID it is for
 * (the wrapper's own, which node keeps), and gives node CAIRN_LOCKD=SERVER:OWNER: no spawn from Node.js on a
 * verb's path, and nothing inherited. The server then has its request pipe on fd 0 and its reply pipe on fd 1,
 * which node opens through /proc/SERVER/fd on its first lock, and it ends when its owner's pidfd says the owner
 * is gone. Anything else (a build script's library, tests, node run directly) spawns it on first use, with
 * its stdin and stdout as the pipes: it ends when its stdin does.
 */

/** The perl program (perl-base): with an OWNER PID argument the wrapper's background server, else it serves its stdin. */
export const LOCK_SERVER_PROGRAM = String.raw`
my ($owner, $pidfd, $qw) = (shift, -1);
if (defined $owner) {
  my ($qr, $ar, $aw);
  pipe($qr, $qw) && pipe($ar, $aw) or exit 1;
  # pidfd_open(2) (434 on every architecture): readable once the owner is gone; -1 before Linux 5.3 (polled then).
  $pidfd = syscall(434, $owner + 0, 0);
  exit 0 if getppid() != $owner;
  # The owner checks fd 0, then fd 1: fd 1 comes first. $qw stays open: fd 0 never reads as ended.
  open(STDOUT, '>&', $aw) && open(STDIN, '<&', $qr) or exit 1;
  close $qr; close $ar; close $aw;
}
$0 = 'cairn-locks';
$SIG{$_} = 'IGNORE' for qw(INT QUIT HUP TERM PIPE);
open(STDERR, '>', '/dev/null');
my (%fh, %kid, %wait);
sub answer { syswrite(STDOUT, "$_[0]\n") }
sub end { my ($pid, @h) = @_; kill 9, $pid; waitpid($pid, 0); close $_ for @h }
sub take {
  my ($id, $mode, $wait, $secs, $path) = @_;
  my $m = $mode eq 'S' ? 1 : 2;
  my $h;
  open($h, '<', $path) || open($h, '>>', $path) or return answer("$id err cannot open $path: $!");
  return ($fh{$id} = $h, answer("$id ok")) if flock($h, $m | 4);
  # 11: EWOULDBLOCK (EAGAIN) on every Linux architecture Node.js runs on.
  return answer("$id err cannot lock $path: $!") if $! != 11;
  return answer("$id busy") unless $wait;
  my ($r, $w, $cr, $cw);
  my $pid = pipe($r, $w) && pipe($cr, $cw) ? fork : undef;
  return answer("$id err cannot wait for $path: $!") unless defined $pid;
  if (!$pid) {
    close $_ for values %fh;
    close $_->[1] for values %kid;
    for (values %wait) { close $_->[1]; close $_->[2] }
    close STDIN; close STDOUT; close $r; close $cw;
    if (flock($h, $m)) { syswrite($w, 'k'); sysread($cr, my $x, 1); exit 0 }
    syswrite($w, "ecannot lock $path: $!");
    exit 1;
  }
  close $h; close $w; close $cr;
  $wait{$id} = [$pid, $r, $cw, $secs > 0 ? $secs : undef];
}
sub release {
  my $id = shift;
  if (my $k = delete $kid{$id}) { end($k->[0], $k->[1]) }
  elsif (my $q = delete $wait{$id}) { end($q->[0], $q->[1], $q->[2]) }
  elsif (my $h = delete $fh{$id}) { close $h }
}
my $buf = '';
while (1) {
  my $rin = '';
  vec($rin, 0, 1) = 1;
  vec($rin, $pidfd, 1) = 1 if $pidfd >= 0;
  my $t = defined $owner && $pidfd < 0 ? 0.5 : undef;
  for (values %wait) {
    vec($rin, fileno($_->[1]), 1) = 1;
    $t = $_->[3] if defined $_->[3] && (!defined $t || $_->[3] < $t);
  }
  $t = 0 if defined $t && $t < 0;
  my ($n, $left) = select(my $rout = $rin, undef, undef, $t);
  if ($n < 0) { next if $! == 4; last }
  last if $pidfd >= 0 ? vec($rout, $pidfd, 1) : defined $owner && getppid() != $owner;
  if (defined $t) { my $spent = $t - $left; $_->[3] -= $spent for grep { defined $_->[3] } values %wait }
  for my $id (keys %wait) {
    my $q = $wait{$id};
    if (vec($rout, fileno($q->[1]), 1)) {
      delete $wait{$id};
      my $got = sysread($q->[1], my $msg, 4096);
      close $q->[1];
      if ($got && $msg eq 'k') { $kid{$id} = [$q->[0], $q->[2]]; answer("$id ok"); next }
      end($q->[0], $q->[2]);
      $msg =~ s/^e//;
      answer("$id err " . ($got ? $msg : 'the waiting helper ended'));
    } elsif (defined $q->[3] && $q->[3] <= 0) {
      delete $wait{$id};
      end($q->[0], $q->[1], $q->[2]);
      answer("$id timeout");
    }
  }
  next unless vec($rout, 0, 1);
  last unless sysread(STDIN, $buf, 4096, length $buf);
  while ($buf =~ s/^([^\n]*)\n//) {
    my @f = split / /, $1, 6;
    if ($f[0] eq 'L') { take(@f[1 .. 5]) } elsif ($f[0] eq 'U') { release($f[1]) }
  }
}
kill 9, map { $_->[0] } values(%kid), values(%wait);
`;

/** What the server answered to a request to take a lock. */
export type LockReply = { kind: 'ok' | 'busy' | 'timeout' } | { kind: 'err'; message: string; hint?: string };

/** The way to one process's lock server (shared by every copy of this module in the process). */
export interface LockServer {
  /**
   * Asks for a lock on file; resolves to the server's answer and, for `ok`, the lock's release (written at
   * once: the line is on its way to the server before it returns; a second call does nothing).
   */
  take(file: string, shared: boolean, wait: boolean, seconds: number): Promise<{ reply: LockReply; release: () => void }>;
}

/** Where the process's server is kept: one per process, whatever the copy of this module (the CLI's, a script's). */
const KEY = Symbol.for('cairn.lock-server');
type Slot = { [KEY]?: LockServer };

/** The lock server of this process: the one the wrapper started beside it, else one of its own (started on first use). */
export function lockServer(): LockServer {
  const slot = globalThis as Slot;
  return (slot[KEY] ??= besideWrapper() ?? spawned());
}

/** Forgets a server that ended, so that the next lock starts a new one. */
function forget(server: LockServer): void {
  const slot = globalThis as Slot;
  if (slot[KEY] === server) delete slot[KEY];
}

/** The request bookkeeping both kinds of server share: IDs, pending replies, reply lines, the end. */
class Requests {
  private next = 1;
  private readonly waiting = new Map<number, (r: LockReply) => void>();
  private buf = '';
  ended = false;

  get pending(): number {
    return this.waiting.size;
  }

  /** Registers a request; returns its ID and the promise of its reply. */
  add(): { id: number; reply: Promise<LockReply> } {
    const id = this.next++;
    const reply = this.ended ? Promise.resolve(GONE) : new Promise<LockReply>((resolve) => this.waiting.set(id, resolve));
    return { id, reply };
  }

  /** Feeds reply text from the server. */
  feed(text: string): void {
    this.buf += text;
    let nl: number;
    while ((nl = this.buf.indexOf('\n')) >= 0) {
      const line = this.buf.slice(0, nl);
      this.buf = this.buf.slice(nl + 1);
      const m = /^(\d+) (ok|busy|timeout|err)(?: (.*))?$/.exec(line);
      const resolve = m && this.waiting.get(Number(m[1]));
      if (!m || !resolve) continue;
      this.waiting.delete(Number(m[1]));
      resolve(m[2] === 'err' ? { kind: 'err', message: m[3] ?? 'unknown error' } : { kind: m[2] as 'ok' | 'busy' | 'timeout' });
    }
  }

  /** The server is gone: every pending request fails, and so does any later one. */
  end(reply: LockReply = GONE): void {
    this.ended = true;
    for (const resolve of this.waiting.values()) resolve(reply);
    this.waiting.clear();
  }

  /** Sends a take request through send and waits for its reply; send gets the release line too. */
  async take(send: (line: string) => void, file: string, shared: boolean, wait: boolean, seconds: number): Promise<{ reply: LockReply; release: () => void }> {
    if (file.includes('\n')) throw new CairnError(`cannot lock ${JSON.stringify(file)}: a lock file's path cannot hold a newline`);
    const { id, reply } = this.add();
    if (!this.ended) send(`L ${id} ${shared ? 'S' : 'X'} ${wait ? 1 : 0} ${seconds} ${file}\n`);
    const r = await reply;
    let released = r.kind !== 'ok';
    return {
      reply: r,
      release: () => {
        if (released) return;
        released = true;
        if (!this.ended) send(`U ${id}\n`);
      },
    };
  }
}

const GONE: LockReply = { kind: 'err', message: 'the lock server (a perl process of this cairn) ended unexpectedly', hint: 'run the verb again' };

/** Calls fn(err, value) style APIs as promises. */
function call<T>(fn: (cb: (err: NodeJS.ErrnoException | null, v: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => fn((err, v) => (err ? reject(err) : resolve(v))));
}

/**
 * The pipes of the wrapper's server: its fd 0 (for writing) and fd 1 (for reading), opened through /proc (so
 * close-on-exec, as every descriptor Node.js opens). While the server is not set up yet (its descriptors are
 * still /dev/null), waits a little; undefined when it is gone.
 */
async function connect(pid: number): Promise<{ w: number; r: number } | undefined> {
  const fd = (n: number) => `/proc/${pid}/fd/${n}`;
  const fifo = async (d: number) => (await call<Stats>((cb) => fstat(d, cb))).isFIFO();
  for (let i = 0; i < 200; i++) {
    let w: number;
    try {
      // Read-write: opening never waits, whatever is at the other end.
      w = await call<number>((cb) => open(fd(0), 'r+', cb));
    } catch {
      return undefined;
    }
    if (await fifo(w)) {
      try {
        // Held open for writing meanwhile, so that opening the reply pipe for reading never waits for a writer.
        const hold = await call<number>((cb) => open(fd(1), 'r+', cb));
        const r = await call<number>((cb) => open(fd(1), 'r', cb));
        close(hold, () => undefined);
        return { w, r };
      } catch {
        close(w, () => undefined);
        return undefined;
      }
    }
    close(w, () => undefined);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return undefined;
}

/**
 * The server the `cairn` wrapper started beside this process (CAIRN_LOCKD=SERVER:OWNER, OWNER this process:
 * a child process never takes its parent's), reached on the first lock; when it cannot be, a server of this
 * process's own.
 */
function besideWrapper(): LockServer | undefined {
  const m = /^(\d+):(\d+)$/.exec(process.env.CAIRN_LOCKD ?? '');
  if (!m || Number(m[2]) !== process.pid) return undefined;
  const reqs = new Requests();
  const chunk = Buffer.alloc(4096);
  let pipes: Promise<{ w: number; r: number } | undefined> | undefined;
  let reading = false;
  let server: LockServer;
  let fd: { w: number; r: number };
  let own: LockServer | undefined;
  // A read is in flight only while a reply is awaited, so an idle server never keeps this process alive.
  const pump = () => {
    if (reading || reqs.pending === 0) return;
    reading = true;
    read(fd.r, chunk, 0, chunk.length, null, (err, n) => {
      reading = false;
      if (err || n === 0) {
        forget(server);
        reqs.end();
        return;
      }
      reqs.feed(chunk.toString('utf8', 0, n));
      pump();
    });
  };
  const send = (line: string) => {
    writeSync(fd.w, line);
    pump();
  };
  server = {
    async take(file, shared, wait, seconds) {
      const p = await (pipes ??= connect(Number(m[1])));
      if (!p) {
        own ??= spawned();
        if ((globalThis as Slot)[KEY] === server) (globalThis as Slot)[KEY] = own;
        return own.take(file, shared, wait, seconds);
      }
      fd = p;
      return reqs.take(send, file, shared, wait, seconds);
    },
  };
  return server;
}

/** A server of this process's own, started on first use; it must not keep the process alive while idle. */
function spawned(): LockServer {
  const reqs = new Requests();
  let child: Promise<ChildProcess> | undefined;
  let server: LockServer;
  // Only a pending request holds the process: the reply pipe is referenced just while one is awaited.
  const hold = (c: ChildProcess) => {
    const out = c.stdout as unknown as { ref(): void; unref(): void };
    if (reqs.pending > 0) out.ref();
    else out.unref();
  };
  const start = async (): Promise<ChildProcess> => {
    const { spawn } = await import('node:child_process');
    const c = spawn('perl', ['-e', LOCK_SERVER_PROGRAM], { stdio: ['pipe', 'pipe', 'ignore'] });
    const fail = (reply?: LockReply) => {
      forget(server);
      reqs.end(reply);
    };
    c.once('error', (err) => fail({ kind: 'err', message: `cannot start the lock server (perl): ${err.message}`, hint: 'install perl (perl-base)' }));
    c.once('exit', () => fail());
    c.stdin!.on('error', () => undefined);
    c.stdout!.setEncoding('utf8');
    c.stdout!.on('data', (d: string) => {
      reqs.feed(d);
      hold(c);
    });
    c.unref();
    (c.stdin as unknown as { unref(): void }).unref();
    return c;
  };
  server = {
    async take(file, shared, wait, seconds) {
      const c = await (child ??= start());
      // A pipe write that fits is written at once, in this very call: a release reaches the server even when
      // the event loop is blocked right after (a spawnSync that waits for that very lock).
      const send = (line: string) => {
        c.stdin!.write(line);
        hold(c);
      };
      const r = reqs.take(send, file, shared, wait, seconds);
      hold(c);
      try {
        return await r;
      } finally {
        hold(c);
      }
    },
  };
  return server;
}
