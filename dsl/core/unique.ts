import { closeSync, openSync, readFileSync, readSync } from 'node:fs';

let counter = 0;

/**
 * A name part unique within this host for temporary files (used with exclusive creation, so never clobbers):
 * `PID-TIME-COUNTER…`, so that gc and check can tell a live verb's temporary file from a killed one's.
 */
export function uniqueSuffix(): string {
  return `${process.pid}-${Date.now().toString(36)}-${(counter++).toString(36)}${Math.random().toString(36).slice(2, 8)}`;
}

/** The PID and time (ms) in a name made with uniqueSuffix, if it has one. */
export function suffixCreator(name: string): { pid: number; time: number } | undefined {
  const m = /(?:^|[-.])(\d+)-([0-9a-z]{6,11})-[0-9a-z]+(?:\.tmp)?$/.exec(name);
  if (!m) return undefined;
  const pid = Number(m[1]);
  const time = parseInt(m[2], 36);
  return pid > 0 && Number.isSafeInteger(pid) && time > 0 ? { pid, time } : undefined;
}

/**
 * `bytes` random bytes from the kernel (/dev/urandom), as hex: for IDs. Read directly rather than through
 * node:crypto, which a verb that hashes nothing would load only for this (a tenth of its start-up).
 */
export function randomHex(bytes: number): string {
  const buf = Buffer.alloc(bytes);
  const fd = openSync('/dev/urandom', 'r');
  try {
    for (let got = 0; got < bytes; ) {
      const n = readSync(fd, buf, got, bytes - got, null);
      if (n <= 0) throw new Error('/dev/urandom gave no bytes');
      got += n;
    }
  } finally {
    closeSync(fd);
  }
  return buf.toString('hex');
}

let bootMs: number | undefined;
/** The host's boot time in ms since the epoch (from /proc/stat), or 0 when unknown. */
function bootTime(): number {
  if (bootMs === undefined) {
    try {
      bootMs = Number(/^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'utf8'))?.[1] ?? 0) * 1000;
    } catch {
      bootMs = 0;
    }
  }
  return bootMs;
}

/**
 * True while the process that made something at time `since` (ms) may still be running: PID pid exists and
 * started before that time (a process started later only reuses the number). Unknowable cases count as alive.
 */
export function creatorAlive(pid: number, since: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (f[0] === 'Z') return false;
    // Field 22 (starttime), in clock ticks after boot: the 20th after the command name. Ticks are 1/100 s on Linux.
    const started = bootTime() + (Number(f[19]) / 100) * 1000;
    if (bootTime() > 0 && started > since + 2000) return false;
  } catch {
    /* no /proc, or gone meanwhile: as kill said */
  }
  return true;
}
