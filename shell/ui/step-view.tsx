import { Box, Text } from 'ink';
import type { ChangedPath, StepRecord } from '../types.js';
import { changeRow, foldChanges, fmtBytes, omittedAt, plural, progressText, resultLine, sanitize } from './format.js';
import { LayersView } from './layers-view.js';
import type { Running } from './model.js';
import { C, type Tone } from './theme.js';

/*
 * A step on the screen: finished (printed once above the prompt, in <Static>) with its header, its kept output,
 * its result and the paths it changed; and running (in the live region) with its last lines and progress.
 */

const SIGN_TONE: Record<ChangedPath['kind'], Tone> = { A: 'add', C: 'change', D: 'del' };

/** An output line (an empty one keeps its row). */
function OutLine({ text }: { text: string }) {
  return <Text>{sanitize(text) || ' '}</Text>;
}

/** The paths a step changed, biggest first, folded after a few. */
export function ChangesView({ changes }: { changes: readonly ChangedPath[] }) {
  const f = foldChanges(changes);
  return (
    <Box flexDirection="column" paddingLeft={2}>
      <C tone="dim">{f.summary}</C>
      {f.shown.map((c) => (
        <C key={`${c.kind}${c.path}`} tone={SIGN_TONE[c.kind]}>
          {changeRow(c)}
        </C>
      ))}
      {f.more > 0 && <C tone="dim">{`… and ${f.more} more (${fmtBytes(f.moreBytes)})`}</C>}
    </Box>
  );
}

/** A finished step, as printed once above the prompt. */
export function StepView({ rec }: { rec: StepRecord }) {
  const r = resultLine(rec);
  const cut = rec.omitted > 0 ? omittedAt(rec) : rec.output.length;
  const mark = r.kind === 'ok' ? '✓' : '✗';
  return (
    <Box flexDirection="column">
      <Text>
        <C tone="prompt">❯ </C>
        <C tone="header">{rec.line}</C>
      </Text>
      {rec.output.slice(0, cut).map((l, i) => (
        <OutLine key={i} text={l} />
      ))}
      {rec.omitted > 0 && <C tone="dim">{`… ${plural(rec.omitted, 'line')} not shown`}</C>}
      {rec.output.slice(cut).map((l, i) => (
        <OutLine key={cut + i} text={l} />
      ))}
      {rec.layers && <LayersView layers={rec.layers} />}
      <C tone={r.kind === 'ok' ? 'ok' : r.kind === 'interrupted' ? 'warn' : 'fail'}>{`${mark} ${r.text}${rec.undone ? ' (undone)' : ''}`}</C>
      {rec.changes && rec.changes.length > 0 && <ChangesView changes={rec.changes} />}
    </Box>
  );
}

/** The running step: its header, its last lines (cut to the width: the live region never wraps), its progress. */
export function RunningView({ run, rows, cols }: { run: Running; rows: number; cols: number }) {
  const tail = run.tail.slice(-rows);
  const hidden = run.lines - tail.length;
  return (
    <Box flexDirection="column" width={Math.max(10, cols - 1)}>
      <Text wrap="truncate-end">
        <C tone="prompt">❯ </C>
        <C tone="header">{run.rec.line}</C>
        {hidden > 0 ? <C tone="dim">{`  (${plural(run.lines, 'line')})`}</C> : null}
      </Text>
      {tail.map((l, i) => (
        <Text key={i} wrap="truncate-end">
          {sanitize(l) || ' '}
        </Text>
      ))}
      {run.progress && (
        <Text wrap="truncate-end">
          <C tone="accent">{progressText(run.progress, cols - 1)}</C>
        </Text>
      )}
    </Box>
  );
}
