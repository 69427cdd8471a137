import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isCanonicalPath } from './route-mapping.ts';

/** The definition `isCanonicalPath` implements, written the slow, obvious way. */
function canonicalByDefinition(path: string): boolean {
  if (!path.startsWith('/')) return false;
  const allowed = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~!$&'()*+,=:@%/";
  if ([...path].some((c) => !allowed.includes(c))) return false;
  const segments = path.split('/').slice(1);
  if (segments.some((segment, i) => segment === '' && i < segments.length - 1)) return false;
  if (segments.some((segment) => segment === '.' || segment === '..')) return false;
  for (let i = path.indexOf('%'); i >= 0; i = path.indexOf('%', i + 1)) {
    const hex = path.slice(i + 1, i + 3);
    if (hex.length < 2 || Number.isNaN(Number(`0x${hex}`)) || hex.includes('-') || hex.includes('.')) return false;
    const char = String.fromCharCode(Number(`0x${hex}`));
    if ('abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~/\\'.includes(char)) return false;
    if (char < ' ' || char === '\x7f') return false;
  }
  try {
    decodeURIComponent(path);
  } catch {
    return false;
  }
  return true;
}

describe('isCanonicalPath', () => {
  it('refuses what an upstream could read as another path, and accepts dots inside a segment', () => {
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
      // Forms a decoding or servlet-style upstream routes as another path (`/admin`, `/../admin`).
      '/%61dmin',
      '/ad%6Din',
      '/..;/admin',
      '/;/admin',
      '/a;x=1',
      '/%C0%AE%C0%AE/x',
      '/%',
      '/%zz',
      '/a%2',
      '/a%00',
      '/a%0a',
      '/admin#frag',
      '/a b',
      '/caf\u00e9',
    ])
      expect(isCanonicalPath(path), path).toBe(false);
    for (const path of [
      '/',
      '/a',
      '/a/',
      '/.well-known/x',
      '/a/.b',
      '/a/b..',
      '/...',
      '/a/...',
      '/v1/chat.completions',
      '/a/..b/c',
      '/caf%C3%A9',
      '/a%20b',
      '/a%3Bb',
      "/a:b@c!$&'()*+,=",
    ])
      expect(isCanonicalPath(path), path).toBe(true);
  });

  it('agrees with the definition on paths made of separators, dots, letters and escapes', () => {
    const piece = fc.constantFrom(
      '/',
      '.',
      '..',
      'a',
      'b.c',
      '%2e',
      '%2F',
      '%41',
      '%3b',
      '%C3',
      '%A9',
      '%',
      '%g1',
      ';',
      '#',
      '\\',
      '?',
      ' ',
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 12 }), (pieces) => {
        const path = `/${pieces.join('')}`;
        expect(isCanonicalPath(path)).toBe(canonicalByDefinition(path));
      }),
      { numRuns: 5000 },
    );
  });
});
