import { Box, Static, Text, useCursor, useInput } from 'ink';
import { useSyncExternalStore } from 'react';
import type { ShellStatus } from '../types.js';
import { fmtBytes, plural, SPINNER } from './format.js';
import type { Keys } from './keys.js';
import { visible } from './line-editor.js';
import type { Entry, ScreenModel } from './model.js';
import { StepView, RunningView } from './step-view.js';
import { C, ColorOn } from './theme.js';

/*
 * The shell's screen: finished steps scroll away above (<Static>: printed once, never redrawn), and a small
 * live region stays at the bottom: the running step, the prompt, completions, the status line. Every row of
 * the live region is cut to the width (never wrapped), so its height is known and stays under the terminal's.
 */

/** The prompt's mark. */
export const PROMPT = '❯ ';

/**
 * The status line's parts, the most useful first (what does not fit is cut at the end): long words when they
 * fit the width, short ones when not, and a long container name cut in its middle on a narrow terminal.
 */
export function statusParts(st: ShellStatus, cols = 80): string[] {
  if (!st.container) return ['no container', 'from IMAGE starts one', 'help lists the verbs'];
  // The mark and a column to spare (a terminal may draw an ambiguous-width character wide).
  const width = Math.max(10, cols - 1) - 3;
  const long = [
    plural(st.checkpoints, 'checkpoint'),
    st.pendingPaths ? `${plural(st.pendingPaths, 'change')} ${fmtBytes(st.pendingBytes)}` : 'no changes',
    st.mounted ? 'mounted' : 'not mounted',
  ];
  const image = st.image ? [`from ${st.image}`] : [];
  const len = (ps: string[]) => ps.join(' · ').length;
  if (len([st.container, ...long]) <= width) return [st.container, ...long, ...image];
  // Short: no word for what is not there (no changes, not mounted), the name first of all.
  const short = [`${st.checkpoints} ckpt`, st.pendingPaths ? `${st.pendingPaths} chg ${fmtBytes(st.pendingBytes)}` : '', st.mounted ? 'mnt' : ''].filter(Boolean);
  let name = st.container;
  const room = width - len(['', ...short]);
  if (name.length > room) {
    const keep = Math.max(9, room) - 1;
    name = name.slice(0, Math.ceil(keep / 2)) + '…' + name.slice(name.length - Math.floor(keep / 2));
  }
  return [name, ...short, ...image];
}

function StatusLine({ m }: { m: ScreenModel }) {
  const busy = m.busy();
  const parts = statusParts(m.status, m.cols);
  return (
    <Box width={Math.max(10, m.cols - 1)}>
      <Text wrap="truncate-end">
        <C tone="accent">{busy ? `${SPINNER[m.spin % SPINNER.length]} ` : '● '}</C>
        {parts.map((p, i) => (
          <Text key={i}>
            {i > 0 ? <C tone="dim">{' · '}</C> : null}
            <C tone={i === 0 ? 'status' : undefined}>{p}</C>
          </Text>
        ))}
      </Text>
    </Box>
  );
}

/** The candidates of a Tab with several, in columns, at most 4 rows. */
export function completionRows(cands: readonly string[], cols: number): string[] {
  const width = Math.max(10, cols - 1);
  const cell = Math.min(width, Math.max(...cands.map((c) => c.length)) + 2);
  const per = Math.max(1, Math.floor(width / cell));
  const rows: string[] = [];
  for (let i = 0; i < cands.length; i += per) rows.push(cands.slice(i, i + per).map((c) => c.padEnd(cell)).join('').trimEnd());
  if (rows.length <= 4) return rows;
  const shown = rows.slice(0, 3);
  return [...shown, `… ${cands.length - shown.length * per} more`];
}

/** The prompt row (editing, searching or asking) and where the cursor goes in it. */
function promptRow(m: ScreenModel): { head: string; text: string; x: number; rows?: number } {
  const width = Math.max(10, m.cols - 1);
  // The question wraps (it must be read whole); the cursor follows it to its last row.
  if (m.mode === 'confirm') return { head: '', text: m.question, x: m.question.length % width, rows: Math.floor(m.question.length / width) };
  if (m.mode === 'search') {
    const s = m.search;
    const head = `${s.failed ? 'failing ' : ''}search '${s.text}': `;
    const match = s.match === undefined ? '' : (m.session.history.entries()[s.match] ?? '');
    return { head, text: match, x: Math.min(width - 1, head.length) };
  }
  const v = visible(m.line, width - PROMPT.length);
  return { head: PROMPT, text: v.text, x: PROMPT.length + [...v.text].slice(0, v.cursor).join('').length };
}

function Finished({ e }: { e: Entry }) {
  if (e.step) return <StepView rec={e.step} />;
  return <C tone={e.tone === 'warn' ? 'warn' : e.tone === 'fail' ? 'fail' : 'dim'}>{e.text ?? ''}</C>;
}

/** The whole screen of one mount of the Ink tree. */
export function App({ m, keys, hidden }: { m: ScreenModel; keys: Keys; hidden?: boolean }) {
  useSyncExternalStore(m.subscribe, m.snapshot);
  useInput(keys.onInput);
  const { setCursorPosition } = useCursor();
  const items = m.entries.slice(m.staticFrom);
  const finished = (
    <Static items={items}>
      {(e) => (
        <Box key={e.key} flexDirection="column">
          <Finished e={e} />
        </Box>
      )}
    </Static>
  );
  if (hidden || m.hidden) {
    setCursorPosition(undefined);
    return <ColorOn.Provider value={m.color}>{finished}</ColorOn.Provider>;
  }
  const tailRows = m.tailRows();
  const run = m.running;
  let y = 0;
  if (run) y += 1 + Math.min(run.tail.length, tailRows) + (run.progress ? 1 : 0);
  if (m.queued.length) y += 1;
  const p = promptRow(m);
  setCursorPosition({ x: p.x, y: y + (p.rows ?? 0) });
  const comps = m.mode === 'edit' && m.completions.length ? completionRows(m.completions, m.cols) : [];
  const width = Math.max(10, m.cols - 1);
  return (
    <ColorOn.Provider value={m.color}>
      {finished}
      <Box flexDirection="column" width={width}>
        {run && <RunningView run={run} rows={tailRows} cols={m.cols} />}
        {m.queued.length > 0 && (
          <Text wrap="truncate-end">
            <C tone="dim">{`queued: ${m.queued.join(' ; ')}`}</C>
          </Text>
        )}
        <Text wrap={m.mode === 'confirm' ? 'wrap' : 'truncate-end'}>
          <C tone={m.mode === 'confirm' ? 'warn' : m.mode === 'search' ? 'dim' : 'prompt'}>{p.head}</C>
          {m.mode === 'confirm' ? <C tone="warn">{p.text}</C> : <Text>{p.text || ' '}</Text>}
        </Text>
        {comps.map((r, i) => (
          <Text key={i} wrap="truncate-end">
            <C tone="dim">{r}</C>
          </Text>
        ))}
        <StatusLine m={m} />
      </Box>
    </ColorOn.Provider>
  );
}
