import type { EventEmitter } from 'node:events';
import { events as engineEvents, type CairnEvent } from '../dsl/index.js';

/** Prints an event stream (the engine's by default) on stderr, and run output where it belongs, as the CLI shows it. */
export function attachLogger(opts: { quiet: boolean }, events: EventEmitter = engineEvents): void {
  const color = process.stderr.isTTY && !process.env.NO_COLOR;
  const dim = (s: string) => (color ? `\x1b[2m${s}\x1b[0m` : s);
  const yellow = (s: string) => (color ? `\x1b[33m${s}\x1b[0m` : s);
  events.on('event', (ev: CairnEvent) => {
    switch (ev.type) {
      case 'warn':
        process.stderr.write(yellow(`cairn: warning: ${ev.text}`) + '\n');
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
