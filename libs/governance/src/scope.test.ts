import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  actionMatches,
  allows,
  isSubset,
  isValidResourcePattern,
  resourceMatches,
  resourcePatternCovers,
  widenedPatterns,
} from './scope.ts';

const tool = (id: string) => ({ type: 'Tool', id });

describe('pattern semantics', () => {
  it('action patterns', () => {
    expect(actionMatches('tool:call', 'tool:call')).toBe(true);
    expect(actionMatches('tool:call', 'tool:calls')).toBe(false);
    expect(actionMatches('tool:*', 'tool:call')).toBe(true);
    expect(actionMatches('tool:*', 'tool:')).toBe(true);
    expect(actionMatches('tool:*', 'llm:invoke')).toBe(false);
    expect(actionMatches('*', 'anything:at:all')).toBe(true);
  });

  it('resource patterns', () => {
    expect(resourceMatches('Tool::"crm.*"', tool('crm.search'))).toBe(true);
    expect(resourceMatches('Tool::"crm.*"', tool('crm.'))).toBe(true);
    expect(resourceMatches('Tool::"crm.*"', tool('crm'))).toBe(false);
    expect(resourceMatches('Tool::"crm.*"', { type: 'McpServer', id: 'crm.x' })).toBe(false);
    expect(resourceMatches('Argus::Tool::"crm.*"', tool('crm.a'))).toBe(true);
    expect(resourceMatches('Tool::"crm.*"', { type: 'Argus::Tool', id: 'crm.a' })).toBe(true);
    expect(resourceMatches('Tool::"*"', tool(''))).toBe(true);
    expect(resourceMatches('Model::"gpt-*"', { type: 'Model', id: 'gpt-4o' })).toBe(true);
    expect(resourceMatches('Model::"gpt-*"', { type: 'Model', id: 'claude' })).toBe(false);
    expect(resourceMatches('*', { type: 'Secret', id: 'x' })).toBe(true);
    expect(resourceMatches('Tool::"a*b*c"', tool('aXbYbc'))).toBe(true);
    expect(resourceMatches('Tool::"a*b*c"', tool('aXcYb'))).toBe(false);
  });

  it('escapes: \\* is a literal star', () => {
    expect(resourceMatches('Tool::"a\\*"', tool('a*'))).toBe(true);
    expect(resourceMatches('Tool::"a\\*"', tool('ab'))).toBe(false);
    expect(resourceMatches('Tool::"say \\"hi\\""', tool('say "hi"'))).toBe(true);
  });

  it('malformed patterns match and cover nothing', () => {
    for (const bad of ['Tool::crm', 'Tool::"a"b"', 'Tool::"\\x"', '::"x"', 'Tool::"x', '**']) {
      expect(isValidResourcePattern(bad)).toBe(false);
      expect(resourceMatches(bad, tool('x'))).toBe(false);
      expect(resourcePatternCovers(bad, 'Tool::"x"')).toBe(false);
    }
  });

  it('allows accepts a uid string', () => {
    const s = { actions: ['tool:call'], resources: ['Tool::"crm.*"'] };
    expect(allows(s, 'tool:call', 'Tool::"crm.search"')).toBe(true);
    expect(allows(s, 'tool:call', 'Argus::Tool::"crm.search"')).toBe(true);
    expect(allows(s, 'tool:call', 'garbage')).toBe(false);
    expect(allows(s, 'llm:invoke', tool('crm.search'))).toBe(false);
  });
});

describe('isSubset', () => {
  const parent = { actions: ['tool:*'], resources: ['Tool::"crm.*"', 'Model::"gpt-*"'] };
  it('narrower patterns are subsets', () => {
    expect(isSubset({ actions: ['tool:call'], resources: ['Tool::"crm.search"'] }, parent)).toBe(true);
    expect(isSubset({ actions: ['tool:call'], resources: ['Tool::"crm.orders.*"', 'Model::"gpt-4o*"'] }, parent)).toBe(true);
    expect(isSubset(parent, parent)).toBe(true);
  });
  it('wider or foreign patterns are not', () => {
    expect(isSubset({ actions: ['*'], resources: ['Tool::"crm.a"'] }, parent)).toBe(false);
    expect(isSubset({ actions: ['tool:call'], resources: ['Tool::"*"'] }, parent)).toBe(false);
    expect(isSubset({ actions: ['tool:call'], resources: ['Tool::"crm*"'] }, parent)).toBe(false);
    expect(isSubset({ actions: ['tool:call'], resources: ['*'] }, parent)).toBe(false);
    expect(isSubset({ actions: ['tool:call'], resources: ['Api::"crm.a"'] }, parent)).toBe(false);
    expect(widenedPatterns({ actions: ['tool:call', 'llm:invoke'], resources: ['Tool::"*"'] }, parent)).toEqual({
      actions: ['llm:invoke'],
      resources: ['Tool::"*"'],
    });
  });
  it('an empty scope is a subset of anything', () => {
    expect(isSubset({ actions: [], resources: ['*'] }, { actions: ['x'], resources: ['Tool::"y"'] })).toBe(true);
  });
  it('a literal star in the child is not covered by a literal in the parent', () => {
    expect(resourcePatternCovers('Tool::"a\\*"', 'Tool::"a*"')).toBe(false);
    expect(resourcePatternCovers('Tool::"a*"', 'Tool::"a\\*"')).toBe(true);
  });
});

// Small alphabet so that random patterns and strings collide often.
const chars = fc.constantFrom('a', 'b', '.', '*');
const glob = fc.array(chars, { maxLength: 6 }).map((cs) => cs.join(''));
const word = fc.array(fc.constantFrom('a', 'b', '.'), { maxLength: 6 }).map((cs) => cs.join(''));

/** Instantiates every `*` of a glob with a word. */
const instance = (g: string, fills: string[]) => {
  let i = 0;
  return g.replace(/\*/g, () => fills[i++ % Math.max(1, fills.length)] ?? '');
};

describe('glob inclusion (property)', () => {
  it('is sound: when the child pattern is covered, every instance of it matches the parent', () => {
    fc.assert(
      fc.property(glob, glob, fc.array(word, { minLength: 1, maxLength: 4 }), (p, c, fills) => {
        if (!resourcePatternCovers(`Tool::"${p}"`, `Tool::"${c}"`)) return;
        expect(resourceMatches(`Tool::"${p}"`, tool(instance(c, fills)))).toBe(true);
      }),
      { numRuns: 3000 },
    );
  });

  it('is exact for literal children: covered iff the parent matches the literal', () => {
    fc.assert(
      fc.property(glob, word, (p, w) => {
        expect(resourcePatternCovers(`Tool::"${p}"`, `Tool::"${w}"`)).toBe(resourceMatches(`Tool::"${p}"`, tool(w)));
      }),
      { numRuns: 3000 },
    );
  });

  it('is complete when the parent is the child with extra stars or shorter prefix-stars', () => {
    fc.assert(
      fc.property(word, word, (a, b) => {
        expect(resourcePatternCovers(`Tool::"${a}*"`, `Tool::"${a}${b}*"`)).toBe(true);
        expect(resourcePatternCovers(`Tool::"*${b}"`, `Tool::"${a}*${b}"`)).toBe(true);
        expect(resourcePatternCovers(`Tool::"${a}*${b}"`, `Tool::"${a}${b}"`)).toBe(true);
      }),
    );
  });
});
