import stringWidth from 'string-width';
import { describe, expect, it } from 'vitest';
import fastStringWidth from '../../../bin/bundle/string-width-fast.mjs';

// The screen's string-width (bin/bundle/string-width-fast.mjs, put in place of string-width in the screen's
// bundle) must measure every string exactly as string-width does: its fast path only skips the segmenter.
describe('the fast string-width of the shell screen', () => {
  it.each([
    ['plain ASCII'],
    ['● tiny-working-container · 0 checkpoints · no changes · not mounted'],
    ['❯ apt-get install -y curl'],
    ['✓ ok in 228 ms  ✗ failed  … and 3 more'],
    ['┌─┐│└┘ ▕█▏ ⠋⠙⠹ ←→ “quoted” – — é ß ñ'],
    ['\u001b[31mred\u001b[39m'],
    ['漢字 wide'],
    ['emoji ✅ ❌ ⭐ 🎉 ◽'],
    ['e\u0301 combining'],
    ['zero\u200bwidth soft\u00adhyphen'],
    [''],
  ])('%s', (text) => {
    expect(fastStringWidth(text)).toBe(stringWidth(text));
    expect(fastStringWidth(text, { countAnsiEscapeCodes: true })).toBe(stringWidth(text, { countAnsiEscapeCodes: true }));
    expect(fastStringWidth(text, { ambiguousIsNarrow: false })).toBe(stringWidth(text, { ambiguousIsNarrow: false }));
  });
});
