/**
 * The console's third-party browser modules (CodeMirror 6 and what it imports), served from the
 * installed packages: each package's ES module entry, with its bare imports rewritten to the
 * relative URLs of the other vendored files. No bundler, no import map (so no inline script for the
 * Content-Security-Policy to allow), and the code is exactly what npm installed.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, posix } from 'node:path';

/** Package → its ES module entry, relative to the package root. Every bare import of these files is listed here. */
export const VENDOR_MODULES: Readonly<Record<string, string>> = {
  '@codemirror/state': 'dist/index.js',
  '@codemirror/view': 'dist/index.js',
  '@codemirror/language': 'dist/index.js',
  '@codemirror/lint': 'dist/index.js',
  '@codemirror/commands': 'dist/index.js',
  '@codemirror/streamparser': 'dist/index.js',
  '@lezer/common': 'dist/index.js',
  '@lezer/highlight': 'dist/index.js',
  '@marijn/find-cluster-break': 'src/index.js',
  'style-mod': 'src/style-mod.js',
  'w3c-keyname': 'index.js',
  crelt: 'index.js',
};

/** A vendored file as the console router serves it. */
export interface VendorAsset {
  body: Buffer;
  type: string;
  etag: string;
}

const IMPORT = /(\bfrom\s*|\bimport\s*\(?\s*)(['"])([^'"]+)\2/g;

/** The URL path of a package's module under `/vendor/` (`/vendor/@codemirror/view.js`). */
export function vendorPath(specifier: string): string {
  return `/vendor/${specifier}.js`;
}

/**
 * Reads every vendored module and rewrites its imports. Throws when a module imports a package
 * that is not vendored: the console would fail in the browser, so it must fail at start instead.
 */
export function loadVendorAssets(): Map<string, VendorAsset> {
  const require = createRequire(import.meta.url);
  const assets = new Map<string, VendorAsset>();
  for (const [specifier, entry] of Object.entries(VENDOR_MODULES)) {
    const root = packageRoot(require, specifier);
    const from = vendorPath(specifier);
    const text = readFileSync(join(root, entry), 'utf8').replace(IMPORT, (whole, lead: string, quote: string, target: string) => {
      if (target.startsWith('.') || target.startsWith('/'))
        throw new Error(`vendored module \`${specifier}\` imports a relative file \`${target}\``);
      if (!(target in VENDOR_MODULES)) throw new Error(`vendored module \`${specifier}\` imports \`${target}\`, which is not vendored`);
      let rel = posix.relative(posix.dirname(from), vendorPath(target));
      if (!rel.startsWith('.')) rel = `./${rel}`;
      return `${lead}${quote}${rel}${quote}`;
    });
    const body = Buffer.from(text, 'utf8');
    assets.set(from, {
      body,
      type: 'text/javascript; charset=utf-8',
      etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`,
    });
  }
  return assets;
}

/** The installed folder of a package (its `exports` may hide `package.json` from `require.resolve`). */
function packageRoot(require: NodeJS.Require, specifier: string): string {
  for (const dir of require.resolve.paths(specifier) ?? []) {
    const root = join(dir, specifier);
    if (existsSync(join(root, 'package.json'))) return root;
  }
  throw new Error(`vendored package \`${specifier}\` is not installed (run \`npm ci\`)`);
}
