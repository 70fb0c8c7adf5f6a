import { dockerfileError } from './errors.js';
import type { Instruction } from './model.js';

/*
 * HEALTHCHECK's options, as Docker takes them: --interval, --timeout, --start-period and --start-interval are Go
 * durations (`30s`, `1m30s`, `500ms`; 0 keeps the default), each at least 1ms when given; --retries a whole
 * number ≥ 0. The config holds the durations in nanoseconds (Interval, Timeout, StartPeriod, StartInterval) and
 * Retries, each only when not zero, as Docker and buildah write them.
 */

/** The timing fields of a Healthcheck config. */
export interface HealthcheckTimes {
  Interval?: number;
  Timeout?: number;
  StartPeriod?: number;
  StartInterval?: number;
  Retries?: number;
}

const UNIT_NS: Record<string, number> = { ns: 1, us: 1e3, 'µs': 1e3, 'μs': 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };

/** A Go duration (`1m30s`, `1.5h`, `300ms`, `0`) in nanoseconds, or undefined when it is not one. */
export function parseDuration(text: string): number | undefined {
  if (text === '0') return 0;
  if (!/^(?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|μs|ms|s|m|h)(?:(?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))*$/.test(text)) return undefined;
  let ns = 0;
  for (const m of text.matchAll(/(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/g)) ns += Number(m[1]) * UNIT_NS[m[2]];
  return Math.round(ns);
}

const FIELDS: Record<string, keyof HealthcheckTimes> = { interval: 'Interval', timeout: 'Timeout', 'start-period': 'StartPeriod', 'start-interval': 'StartInterval' };

/** The timing options of a HEALTHCHECK instruction (flags unexpanded, as Docker takes them); throws one clear line for a bad one. */
export function healthcheckTimes(instr: Instruction): HealthcheckTimes {
  const out: HealthcheckTimes = {};
  const none = !instr.json && /^NONE$/i.test((instr.args[0] ?? '').trim());
  for (const f of instr.flags) {
    const v = f.value ?? '';
    if (none) throw dockerfileError(f.place, `HEALTHCHECK NONE takes no options (--${f.name})`, 'write HEALTHCHECK NONE alone, or give a CMD');
    if (f.name === 'retries') {
      if (!/^\d+$/.test(v)) throw dockerfileError(f.place, `HEALTHCHECK --retries=${v} is not a whole number ≥ 0`, 'e.g. --retries=3');
      if (Number(v)) out.Retries = Number(v);
      continue;
    }
    const field = FIELDS[f.name];
    if (!field) continue;
    const ns = parseDuration(v);
    if (ns === undefined) throw dockerfileError(f.place, `HEALTHCHECK --${f.name}=${v} is not a duration`, 'write it as Docker does: 30s, 1m30s, 500ms');
    if (ns !== 0 && ns < 1e6) throw dockerfileError(f.place, `HEALTHCHECK --${f.name}=${v} is shorter than 1ms`, 'give at least 1ms (0 keeps the default)');
    if (ns) out[field] = ns;
  }
  return out;
}
