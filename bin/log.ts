import type { EventEmitter } from 'node:events';
import { events as engineEvents, type CairnEvent } from '../dsl/index.js';
import { ProgressView } from './progress.js';

/** Prints an event stream (the engine's by default) on stderr (warnings, the progress of long items), and run output where it belongs. */
export function attachLogger(opts: { quiet: boolean }, events: EventEmitter = engineEvents): void {
  const color = process.stderr.isTTY && !process.env.NO_COLOR;
  const dim = (s: string) => (color ? `\x1b[2m${s}\x1b[0m` : s);
  const yellow = (s: string) => (color ? `\x1b[33m${s}\x1b[0m` : s);
  const view = opts.quiet ? undefined : new ProgressView(process.stderr, !!process.stderr.isTTY);
  events.on('event', (ev: CairnEvent) => {
    switch (ev.type) {
      case 'warn': {
        const text = yellow(`cairn: warning: ${ev.text}`) + '\n';
        if (view) view.above(text);
        else process.stderr.write(text);
        break;
      }
      case 'progress':
        if (view && ev.item && ev.unit === 'bytes') view.update(ev.item, ev.done, ev.total, ev.finished === true);
        break;
      case 'step-end':
        view?.end();
        break;
      case 'output':
        (ev.stream === 'stdout' ? process.stdout : process.stderr).write(ev.data);
        break;
      case 'step-start':
        if (!opts.quiet && process.env.CAIRN_VERBOSE) process.stderr.write(dim(`» ${ev.verb} ${ev.text}`) + '\n');
        break;
      default:
        break;
    }
  });
}
