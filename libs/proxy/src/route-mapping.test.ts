import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isCanonicalPath } from './route-mapping.ts';

/** The definition `isCanonicalPath` implements, written the slow, obvious way. */
function canonicalByDefinition(path: string): boolean {
  if (!path.startsWith('/')) return false;
  if (/%(2e|2f|5c|00)/i.test(path) || path.includes('\\') || path.includes('//')) return false;
  return !path.split('/').some((segment) => segment === '.' || segment === '..');
}

describe('isCanonicalPath', () => {
  it('refuses dot segments, encoded separators and empty segments, and accepts dots inside a segment', () => {
    for (const path of [
      '/.',
      '/..',
      '/a/.',
      '/a/..',
      '/a/./b',
      '/a/../b',
      '/./',
      '/a/../',
      '//a',
      '/a//b',
      '/a/%2e%2e/b',
      '/a%2fb',
      '/a\\b',
      'a/b',
    ])
      expect(isCanonicalPath(path), path).toBe(false);
    for (const path of ['/', '/a', '/a/', '/.well-known/x', '/a/.b', '/a/b..', '/...', '/a/...', '/v1/chat.completions', '/a/..b/c'])
      expect(isCanonicalPath(path), path).toBe(true);
  });

  it('agrees with the definition on paths made of separators, dots, letters and escapes', () => {
    const piece = fc.constantFrom('/', '.', '..', 'a', 'b.c', '%2e', '%2F', '%41', '\\', '?');
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 12 }), (pieces) => {
        const path = `/${pieces.join('')}`;
        expect(isCanonicalPath(path)).toBe(canonicalByDefinition(path));
      }),
      { numRuns: 5000 },
    );
  });
});
