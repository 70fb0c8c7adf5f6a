import { Box, Text } from 'ink';
import type { ChangedPath, LayerView } from '../types.js';
import { changeRow, fmtBytes } from './format.js';
import { C, type Tone } from './theme.js';

/*
 * `layers`, the dive way: one block per layer (base layers, checkpoints, the pending changes), each with its
 * size, its counts of added / changed / deleted paths and the biggest of them, the bytes it wastes (files a
 * later layer overwrites or deletes) and the caches it leaves, and what to do about them.
 */

/** How many of a layer's paths are listed (the biggest). */
const TOP = 3;

const SIGN_TONE: Record<ChangedPath['kind'], Tone> = { A: 'add', C: 'change', D: 'del' };

/** A layer's title: `checkpoint 2 "install curl"`, `base 1 sha256:1a2b3c4d5e6f`, `pending`. */
export function layerTitle(l: LayerView, i: number): string {
  const id = l.diffID ? ` ${l.diffID.replace(/^sha256:/, '').slice(0, 12)}` : '';
  if (l.kind === 'pending') return 'pending changes';
  if (l.kind === 'checkpoint') return `checkpoint ${l.index ?? i + 1}${l.message ? ` "${l.message}"` : ''}${id}`;
  return `base ${l.index ?? i + 1}${id}`;
}

function LayerBlock({ l, i }: { l: LayerView; i: number }) {
  const top = [...l.added, ...l.changed, ...l.deleted].sort((a, b) => b.size - a.size).slice(0, TOP);
  return (
    <Box flexDirection="column">
      <Text>
        <C tone="accent">{'▌ '}</C>
        <C tone="strong">{layerTitle(l, i)}</C>
        <C tone="dim">{`  ${fmtBytes(l.size)}`}</C>
      </Text>
      <Box flexDirection="column" paddingLeft={2}>
        <Text>
          <C tone="add">{`+${l.added.length}`}</C>
          {' '}
          <C tone="change">{`~${l.changed.length}`}</C>
          {' '}
          <C tone="del">{`-${l.deleted.length}`}</C>
        </Text>
        {top.map((c) => (
          <C key={`${c.kind}${c.path}`} tone={SIGN_TONE[c.kind]}>
            {changeRow(c)}
          </C>
        ))}
        {l.wasted.bytes > 0 && (
          <C tone="warn">{`wasted ${fmtBytes(l.wasted.bytes)}: ${l.wasted.paths.slice(0, TOP).join(' ')}${l.wasted.paths.length > TOP ? ` … and ${l.wasted.paths.length - TOP} more` : ''}`}</C>
        )}
        {l.caches.map((c) => (
          <C key={c.path} tone="warn">{`cache ${c.path} ${fmtBytes(c.bytes)}`}</C>
        ))}
        {l.suggestions.map((s, k) => (
          <C key={k} tone="accent">{`→ ${s}`}</C>
        ))}
      </Box>
    </Box>
  );
}

/** All the container's layers and a total line. */
export function LayersView({ layers }: { layers: readonly LayerView[] }) {
  const total = layers.reduce((s, l) => s + l.size, 0);
  const wasted = layers.reduce((s, l) => s + l.wasted.bytes + l.caches.reduce((t, c) => t + c.bytes, 0), 0);
  return (
    <Box flexDirection="column">
      {layers.map((l, i) => (
        <LayerBlock key={i} l={l} i={i} />
      ))}
      <Text>
        <C tone="strong">{`${layers.length} layer${layers.length === 1 ? '' : 's'}, ${fmtBytes(total)}`}</C>
        {wasted > 0 ? <C tone="warn">{`, ${fmtBytes(wasted)} wasted or cache`}</C> : null}
      </Text>
    </Box>
  );
}
