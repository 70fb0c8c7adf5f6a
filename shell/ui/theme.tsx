import { Text, type TextProps } from 'ink';
import { createContext, useContext, type ReactNode } from 'react';

/*
 * The screen's colours, by meaning. With NO_COLOR set the screen draws no styles at all (chalk, which Ink
 * colours with, follows FORCE_COLOR and the terminal but not NO_COLOR: so the choice is made here).
 */

/** Whether the screen may colour (false: NO_COLOR). */
export const ColorOn = createContext(true);

/** What a piece of text means, which picks its style. */
export type Tone = 'prompt' | 'header' | 'dim' | 'ok' | 'fail' | 'warn' | 'add' | 'change' | 'del' | 'accent' | 'strong' | 'status';

const STYLES: Record<Tone, TextProps> = {
  prompt: { color: 'magenta', bold: true },
  header: { bold: true },
  dim: { dimColor: true },
  ok: { color: 'green' },
  fail: { color: 'red' },
  warn: { color: 'yellow' },
  add: { color: 'green' },
  change: { color: 'yellow' },
  del: { color: 'red' },
  accent: { color: 'cyan' },
  strong: { bold: true },
  status: { color: 'cyan' },
};

/** Text in a tone (plain when colours are off). */
export function C({ tone, children }: { tone?: Tone; children?: ReactNode }) {
  const on = useContext(ColorOn);
  return <Text {...(on && tone ? STYLES[tone] : {})}>{children}</Text>;
}
