import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ProgressView, bytes, itemLine } from '../../../bin/progress.js';

/** A stream that keeps what is written, shaped as a terminal of 60 columns or a pipe. */
function sink(tty: boolean): { out: NodeJS.WriteStream; text: () => string } {
  const s = new PassThrough() as unknown as NodeJS.WriteStream & { columns?: number };
  let text = '';
  (s as unknown as PassThrough).on('data', (d: Buffer) => (text += d));
  if (tty) s.columns = 60;
  return { out: s, text: () => text };
}

describe('progress of long items', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    process.env.CAIRN_PROGRESS_AFTER = '500';
  });
  afterEach(() => {
    vi.useRealTimers();
    delete process.env.CAIRN_PROGRESS_AFTER;
  });

  it('sizes as du -h writes them; bar, bytes, rate and ETA; a final line', () => {
    expect([bytes(999), bytes(1536), bytes(2.5 * 2 ** 20), bytes(166.7)]).toEqual(['999 B', '1.5 KB', '2.5 MB', '167 B']);
    const it = { name: 'sha256:0123456789ab', done: 5 * 2 ** 20, total: 10 * 2 ** 20, start: 0, finished: false };
    const line = itemLine(it, 1000, 80);
    expect(line).toMatch(/^sha256:0123456789ab \[(=+)>( +)\] 5\.0 MB \/ 10 MB {2}5\.0 MB\/s {2}ETA 1s$/);
    const [, done, left] = /\[(=+)>( +)\]/.exec(line)!;
    expect(Math.abs(done.length - left.length)).toBeLessThanOrEqual(1);
    expect(line.length).toBeLessThanOrEqual(80);
    expect(itemLine({ ...it, finished: true, done: 10 * 2 ** 20 }, 2000, 80)).toBe('sha256:0123456789ab: 10 MB in 2.0s (5.0 MB/s)');
  });

  it('on a terminal: an item that takes a while gets a bar, redrawn in place, then its final line', async () => {
    const { out, text } = sink(true);
    const v = new ProgressView(out, true);
    v.update('sha256:aaa', 10, 100, false);
    await vi.advanceTimersByTimeAsync(100);
    expect(text()).toBe('');
    await vi.advanceTimersByTimeAsync(500);
    expect(text()).toMatch(/^sha256:aaa \[=*> *\] 10 B \/ 100 B {2}\d+ B\/s {2}ETA \d+s\n/);
    v.update('sha256:aaa', 100, 100, true);
    expect(text()).toContain('\x1b[1A\r\x1b[J');
    expect(text().endsWith('sha256:aaa: 100 B in 0.6s (167 B/s)\n')).toBe(true);
    v.above('a warning\n');
    expect(text().endsWith('a warning\n')).toBe(true);
  });

  it('on a pipe: one line per finished item that took a while, nothing for a quick one', async () => {
    const { out, text } = sink(false);
    const v = new ProgressView(out, false);
    v.update('quick', 1, 1, true);
    v.update('slow', 0, 2000, false);
    await vi.advanceTimersByTimeAsync(1000);
    v.update('slow', 2000, 2000, true);
    expect(text()).toBe('slow: 2.0 KB in 1.0s (2.0 KB/s)\n');
  });
});
