import { describe, expect, it } from 'vitest';
import { checkTemplate, formatted, parseFilters, render } from '../../../bin/format.js';

describe('--format templates', () => {
  const item = { ID: 'abc', Names: ['a:1', 'b:2'], Config: { Env: ['A=1'], Labels: { k: 'v' } }, Empty: null };

  it('fills {{.Field}} and dotted paths as Go prints them, matching names without regard to case', () => {
    expect(render('{{.ID}}\\t{{ .names }}\\n{{.Config.Env}} {{.Config.Labels}} {{.Empty}}', item)).toBe('abc\t[a:1 b:2]\n[A=1] {"k":"v"} <no value>');
  });

  it('{{json .Field}} gives JSON', () => {
    expect(render('{{json .Names}} {{json .Config}}', item)).toBe('["a:1","b:2"] {"Env":["A=1"],"Labels":{"k":"v"}}');
  });

  it('refuses what it does not understand, and a field that is not there, naming the ones that are', () => {
    expect(() => checkTemplate('{{range .Names}}{{.}}{{end}}')).toThrow(/only \{\{\.Field\}\} and \{\{json \.Field\}\}/);
    expect(() => render('{{.Nope}}', item)).toThrow('--format: no field Nope (fields here: ID, Names, Config, Empty)');
  });

  it('json prints the JSON form; a template one line per item; no --format gives nothing', () => {
    expect(formatted('json', [item], () => [{ id: 1 }])).toBe('[\n  {\n    "id": 1\n  }\n]');
    expect(formatted('{{.ID}}', [item, { ...item, ID: 'def' }], () => [])).toBe('abc\ndef');
    expect(formatted(undefined, [item], () => [])).toBeUndefined();
  });

  it('--filter takes KEY=VALUE with a known KEY', () => {
    expect(parseFilters(['name=a=b', 'id=1'], ['name', 'id'])).toEqual([{ key: 'name', value: 'a=b' }, { key: 'id', value: '1' }]);
    expect(() => parseFilters(['label'], ['name'])).toThrow('--filter label: use name=…');
  });
});
