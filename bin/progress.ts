import { humanBytes } from '../dsl/index.js';

/*
 * Progress of long verbs (pull, from, push), drawn from the engine's `progress` events for items (blobs):
 * on a terminal one bar per item in flight (bytes, rate, ETA), redrawn in place at most 10 times a second,
 * and its final line when it ends; on a pipe one line per finished item. Only items that take a while are
 * shown (CAIRN_PROGRESS_AFTER milliseconds, 500 by default): a quick verb prints nothing more than before.
 */

/** One item's state. */
interface Item {
  name: string;
  done: number;
  total?: number;
  start: number;
  finished: boolean;
}

/** Bytes as the rest of cairn shows them (humanBytes: 1024-based, as du -h), rounded to whole bytes. */
export function bytes(n: number): string {
  return humanBytes(Math.round(n));
}

/** The line of one item: name, bar, bytes, rate and ETA while running; size, time and rate once finished. */
export function itemLine(it: Item, now: number, width: number): string {
  const secs = Math.max((now - it.start) / 1000, 0.001);
  const rate = it.done / secs;
  if (it.finished) return `${it.name}: ${bytes(it.done)} in ${secs.toFixed(1)}s (${bytes(rate)}/s)`;
  const total = it.total ?? 0;
  const eta = total > it.done && rate > 0 ? `ETA ${Math.ceil((total - it.done) / rate)}s` : '';
  const tail = ` ${bytes(it.done)}${total ? ` / ${bytes(total)}` : ''}  ${bytes(rate)}/s  ${eta}`.trimEnd();
  const room = Math.max(10, Math.min(40, width - it.name.length - tail.length - 4));
  const fill = total ? Math.min(room, Math.floor((room * it.done) / total)) : 0;
  const bar = total ? `[${'='.repeat(fill)}${fill < room ? '>' : ''}${' '.repeat(Math.max(0, room - fill - 1))}]` : '';
  return `${it.name} ${bar}${tail}`;
}

/** Draws the progress of one command on a stream (stderr). */
export class ProgressView {
  private items = new Map<string, Item>();
  private drawn = 0;
  private timer?: NodeJS.Timeout;
  private readonly after: number;

  constructor(private out: NodeJS.WriteStream, private tty: boolean) {
    const a = Number(process.env.CAIRN_PROGRESS_AFTER);
    this.after = Number.isFinite(a) && a >= 0 ? a : 500;
  }

  /** Takes one progress event of an item. */
  update(name: string, done: number, total: number | undefined, finished: boolean): void {
    const now = performance.now();
    const it = this.items.get(name) ?? { name, done: 0, total, start: now, finished: false };
    Object.assign(it, { done, total: total ?? it.total, finished });
    this.items.set(name, it);
    if (!this.tty) {
      if (finished) {
        if (now - it.start >= this.after) this.out.write(itemLine(it, now, Infinity) + '\n');
        this.items.delete(name);
      }
      return;
    }
    if (finished) this.draw();
    else if (!this.timer) {
      this.timer = setTimeout(() => this.draw(), 100);
      this.timer.unref();
    }
  }

  /** Writes text above the live lines (a warning) without breaking them. */
  above(text: string): void {
    this.erase();
    this.out.write(text);
    this.draw();
  }

  /** Ends the drawing: the live lines are erased (the step is over). */
  end(): void {
    this.erase();
    this.items.clear();
  }

  private erase(): void {
    if (this.drawn) this.out.write(`\x1b[${this.drawn}A\r\x1b[J`);
    this.drawn = 0;
  }

  private draw(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const now = performance.now();
    const width = this.out.columns || 80;
    this.erase();
    const live: string[] = [];
    for (const it of [...this.items.values()]) {
      if (now - it.start < this.after) continue;
      const line = itemLine(it, now, width).slice(0, width - 1);
      if (it.finished) this.out.write(line + '\n');
      else live.push(line);
    }
    for (const it of [...this.items.values()]) if (it.finished) this.items.delete(it.name);
    if (live.length) this.out.write(live.join('\n') + '\n');
    this.drawn = live.length;
    if (this.items.size) this.timer = setTimeout(() => this.draw(), 100);
    this.timer?.unref();
  }
}
