import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { globMatch } from './glob.ts';

describe('globMatch', () => {
  it('matches whole strings, case-insensitively, with only `*` special', () => {
    expect(globMatch('ghcr.io/*/mcp-*', 'GHCR.io/acme/team/mcp-github')).toBe(true);
    expect(globMatch('mcp-*', 'mcp-x/')).toBe(true);
    expect(globMatch('a?b', 'axb')).toBe(false);
    expect(globMatch('a?b', 'a?b')).toBe(true);
    expect(globMatch('[ab]', 'a')).toBe(false);
    expect(globMatch('{a,b}', '{a,b}')).toBe(true);
    expect(globMatch('!x', '!x')).toBe(true);
  });

  // The cases a path-glob library (picomatch) answers otherwise: the reason glob.ts stays.
  it('lets `*` match the empty string, dot segments and newlines', () => {
    expect(globMatch('*', '')).toBe(true);
    expect(globMatch('a*', 'a/../b')).toBe(true);
    expect(globMatch('@-*:*', '@-B.//.:B.//.')).toBe(true);
    expect(globMatch('x*', 'x\ny')).toBe(true);
    expect(globMatch('', '')).toBe(true);
  });

  it('matches every text made from the pattern by filling its stars', () => {
    const chars = fc.constantFrom('a', 'B', '1', '*', '.', '/', '-', '_', ':', '@', '?', '[', '\n');
    const str = fc.array(chars, { maxLength: 10 }).map((a) => a.join(''));
    fc.assert(fc.property(str, str, (pattern, fill) => globMatch(pattern, pattern.replace(/\*/g, fill.replace(/\*/g, '')).toUpperCase())));
  });
});
