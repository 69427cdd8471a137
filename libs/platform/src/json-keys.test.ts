import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { duplicateKeyPath } from './json-keys.ts';

/** The definition, the slow way: a parser that keeps every member and reports the first repeat. */
function duplicateByDefinition(text: string): string | undefined {
  let found: string | undefined;
  const seen: string[][] = [];
  // A reviver sees each object's final members only; walk the text with a tokenizer instead.
  const tokens = text.match(/"(?:[^"\\]|\\.)*"|[{}[\],:]|[^\s{}[\],:"]+/g) ?? [];
  const path: (string | number)[] = [];
  const kinds: ('o' | 'a')[] = [];
  let expectKey = false;
  for (let t = 0; t < tokens.length && found === undefined; t++) {
    const tok = tokens[t]!;
    if (tok === '{') {
      kinds.push('o');
      seen.push([]);
      path.push('');
      expectKey = true;
    } else if (tok === '[') {
      kinds.push('a');
      seen.push([]);
      path.push(0);
    } else if (tok === '}' || tok === ']') {
      kinds.pop();
      seen.pop();
      path.pop();
      expectKey = false;
    } else if (tok === ',') {
      if (kinds[kinds.length - 1] === 'o') expectKey = true;
      else path[path.length - 1] = (path[path.length - 1] as number) + 1;
    } else if (expectKey && tok.startsWith('"')) {
      const key = JSON.parse(tok) as string;
      const keys = seen[seen.length - 1]!;
      path[path.length - 1] = key;
      // Character by character, one character to one, the dotless and dotted i apart (as Go folds).
      const folded = [...key]
        .map((c) => {
          if (c === 'ı' || c === 'İ') return c;
          const lower = c.toUpperCase().toLowerCase();
          return c.toUpperCase().length === c.length && lower.length === c.length ? lower : c;
        })
        .join('');
      if (keys.includes(folded)) found = path.map((p) => `/${String(p).replace(/~/g, '~0').replace(/\//g, '~1')}`).join('');
      keys.push(folded);
      expectKey = false;
    }
  }
  return found;
}

describe('duplicateKeyPath', () => {
  it('names the first key an object repeats, decoded, at its path', () => {
    expect(duplicateKeyPath('{"a":1,"b":2}')).toBeUndefined();
    expect(duplicateKeyPath('{"model":"ok","model":"other"}')).toBe('/model');
    expect(duplicateKeyPath('{"mod\\u0065l":"forbidden","model":"ok"}')).toBe('/model');
    expect(duplicateKeyPath('{"params":{"name":"delete","name":"echo"}}')).toBe('/params/name');
    expect(duplicateKeyPath('[{"a":1},{"b":[{"x":1,"x":2}]}]')).toBe('/1/b/0/x');
    expect(duplicateKeyPath('{"a/b":{"~":1,"~":2}}')).toBe('/a~1b/~0');
    // The same key in sibling objects, or as a string value, is no repeat.
    expect(duplicateKeyPath('[{"a":1},{"a":2}]')).toBeUndefined();
    expect(duplicateKeyPath('{"a":"a","b":{"a":1},"c":"\\"a\\":"}')).toBeUndefined();
    expect(duplicateKeyPath('{"a\\\\":1,"a\\\\":2}')).toBe('/a\\');
    // In any letter case, as Go's encoding/json binds fields: NAME, ſ for s, the Kelvin sign for k.
    expect(duplicateKeyPath('{"params":{"name":"echo","NAME":"delete"}}')).toBe('/params/NAME');
    expect(duplicateKeyPath('{"method":"ping","METHOD":"tools/call"}')).toBe('/METHOD');
    expect(duplicateKeyPath('{"params":{},"param\\u017f":{}}')).toBe('/param\u017f');
    expect(duplicateKeyPath('{"kind":1,"\u212aind":2}')).toBe('/\u212aind');
    expect(duplicateKeyPath('{"model":"a","MODEL":"b"}')).toBe('/MODEL');
    expect(duplicateKeyPath('{"ß":1,"ẞ":2}')).toBe('/ẞ');
    // Never one character to two, nor the dotless i to i: Go keeps these apart.
    for (const pair of [
      ['straße', 'strasse'],
      ['tıtle', 'title'],
      ['ﬁle', 'file'],
      ['İd', 'id'],
    ])
      expect(duplicateKeyPath(JSON.stringify({ [pair[0]!]: 1, [pair[1]!]: 2 })), pair.join()).toBeUndefined();
    expect(duplicateKeyPath('"x"')).toBeUndefined();
    expect(duplicateKeyPath('{}')).toBeUndefined();
  });

  it('agrees with a tokenizing definition on random JSON with repeated keys', () => {
    const key = fc.constantFrom(
      'a',
      'B',
      'b',
      'n\\u0061me',
      'NAME',
      'name',
      'x"y',
      'a\\\\',
      '~/',
      '\\u017f',
      'S',
      'ß',
      'ẞ',
      'ss',
      'ı',
      'i',
      'I',
    );
    const value: fc.Arbitrary<string> = fc.letrec<{ v: string }>((tie) => ({
      v: fc.oneof(
        { depthSize: 'small', withCrossShrink: true },
        fc.constantFrom('1', 'true', 'null', '"s"', '"{\\"a\\":1,"', '[]'),
        fc.array(tie('v'), { maxLength: 3 }).map((xs) => `[${xs.join(',')}]`),
        fc
          .array(fc.tuple(key, tie('v')), { maxLength: 4 })
          .map((kvs) => `{${kvs.map(([k, v]) => `"${k.replace(/"/g, '\\"')}":${v}`).join(',')}}`),
      ),
    })).v;
    fc.assert(
      fc.property(value, (text) => {
        JSON.parse(text);
        expect(duplicateKeyPath(text)).toBe(duplicateByDefinition(text));
      }),
      { numRuns: 3000 },
    );
  });
});
