import { HEAD_LINES, type StepRecord } from './types.js';

/** Lines of a step's output kept from its end (HEAD_LINES from its start). */
const TAIL_LINES = 800;
/** A line longer than this is cut into several (output without newlines). */
const MAX_LINE = 64 * 1024;

/**
 * A step's output as lines: bytes of the engine's output events are split at newlines (a line without one is
 * held until the rest comes, or cut at MAX_LINE), and the record keeps the first HEAD_LINES and the last
 * TAIL_LINES, counting what it left out. Each line kept is handed to onLine (the session's 'output' event).
 */
export class StepOutput {
  private partial = '';

  constructor(private readonly onLine: (rec: StepRecord, line: string) => void) {}

  /** Adds text (one or more whole lines) to a step's output. */
  text(rec: StepRecord, text: string): void {
    for (const l of text.replace(/\n$/, '').split('\n')) this.line(rec, l);
  }

  /** Adds bytes of a running step's output. */
  data(rec: StepRecord, data: Buffer): void {
    const lines = (this.partial + data.toString('utf8')).split('\n');
    this.partial = lines.pop()!;
    for (const l of lines) this.line(rec, l.replace(/\r$/, ''));
    while (this.partial.length > MAX_LINE) {
      this.line(rec, this.partial.slice(0, MAX_LINE));
      this.partial = this.partial.slice(MAX_LINE);
    }
  }

  /** Ends a step's output: a last line without a newline is added. */
  flush(rec: StepRecord): void {
    if (this.partial) this.line(rec, this.partial);
    this.partial = '';
  }

  private line(rec: StepRecord, line: string): void {
    if (rec.output.length >= HEAD_LINES + TAIL_LINES) {
      rec.output.splice(HEAD_LINES, 1);
      rec.omitted++;
    }
    rec.output.push(line);
    this.onLine(rec, line);
  }
}
