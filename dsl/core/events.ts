import { EventEmitter } from 'node:events';

/** One event of the stream the CLI logger and the shell both render. */
export type CairnEvent =
  | { type: 'step-start'; id: string; verb: string; text: string }
  | { type: 'output'; id?: string; stream: 'stdout' | 'stderr'; data: Buffer }
  | { type: 'progress'; id: string; done: number; total?: number; unit?: string; item?: string; finished?: boolean }
  | { type: 'warn'; text: string }
  | { type: 'step-end'; id: string; ok: boolean; text?: string; ms: number }
  | { type: 'container'; action: 'created' | 'removed'; id: string; name: string; root: string }
  | { type: 'image'; action: 'committed'; id: string; names: string[] };

/** The process-wide event bus of the engine. */
export const events = new EventEmitter();
events.setMaxListeners(0);

/** Emits one event on the bus. */
export function emit(ev: CairnEvent): void {
  events.emit('event', ev);
}

/** Emits a warning. */
export function warn(text: string): void {
  emit({ type: 'warn', text });
}

let stepCounter = 0;

/** Milliseconds from an arbitrary origin (process.hrtime: the global `performance` loads a dozen modules of Node.js's the first time). */
export function nowMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

/** Runs fn as a named step, emitting step-start and step-end around it. */
export async function step<T>(verb: string, text: string, fn: (id: string) => Promise<T>): Promise<T> {
  const id = `${verb}-${++stepCounter}`;
  const t0 = nowMs();
  emit({ type: 'step-start', id, verb, text });
  try {
    const r = await fn(id);
    emit({ type: 'step-end', id, ok: true, ms: nowMs() - t0 });
    return r;
  } catch (err) {
    emit({ type: 'step-end', id, ok: false, text: (err as Error).message, ms: nowMs() - t0 });
    throw err;
  }
}
