/**
 * Conditional writes of the live policy set: every answer that names the live set carries its
 * version as a strong ETag (`"sha256:…"`), and every route that replaces or edits the live set
 * (`PUT /v1/policies`, `POST /v1/policies/links`, `DELETE /v1/policies/links/{linkId}`) honours
 * `If-Match` against it, so two authors cannot overwrite each other's publication unseen.
 */
import { ArgusError, InvalidInputError } from '@argus/platform';
import type { Request, Response } from 'express';

/** Where a bad or stale `If-Match` is reported. */
const PATH = '/headers/if-match';

/** The ETag of a policy set: its version, quoted (`"sha256:…"`). */
export function policySetEtag(version: string): string {
  return `"${version}"`;
}

/** Sends the live set's version as the answer's ETag. */
export function setPolicyEtag(res: Response, version: string): void {
  res.setHeader('etag', policySetEtag(version));
}

/** One entity tag of a list (RFC 9110 §8.8.3: `W/`? then `"` etagc* `"`), then a comma or the end. */
const ENTITY_TAG = /[ \t]*(W\/)?"([\x21\x23-\x7e\x80-\xff]*)"[ \t]*(?:,|$)/y;

/**
 * The versions an `If-Match` header names: the strong entity tags of its comma-separated list
 * (`"sha256:…"`), `'*'` for any set, or undefined when the header is absent. A weak tag (`W/"…"`)
 * is well-formed but names no version: `If-Match` compares strongly (RFC 9110 §13.1.1), so it only
 * ever leads to a 412. Anything else (an unquoted or unbalanced tag, an empty header) is a 400
 * naming the header, never compared.
 */
export function ifMatchVersions(req: Request): string[] | '*' | undefined {
  const header = req.headers['if-match'];
  if (header === undefined) return undefined;
  if (header.trim() === '*') return '*';
  const versions: string[] = [];
  let tags = 0;
  ENTITY_TAG.lastIndex = 0;
  while (ENTITY_TAG.lastIndex < header.length) {
    const at = ENTITY_TAG.lastIndex;
    const tag = ENTITY_TAG.exec(header);
    // An empty list element (`"a", , "b"`) is allowed by the list syntax; nothing else between tags is.
    if (!tag) {
      const empty = /[ \t]*,/y;
      empty.lastIndex = at;
      if (!empty.test(header)) return malformed();
      ENTITY_TAG.lastIndex = empty.lastIndex;
      continue;
    }
    tags++;
    if (tag[1] === undefined) versions.push(tag[2]!);
  }
  return tags === 0 ? malformed() : versions;
}

function malformed(): never {
  throw new InvalidInputError('invalid If-Match', [
    { path: PATH, message: 'expected `*` or the quoted version of the policy set, e.g. "sha256:…" (a comma-separated list of them)' },
  ]);
}

/**
 * Refuses the write with a 412 `precondition_failed` naming the header when `If-Match` is present
 * and does not name `live` (the version this replica serves; undefined when no set is loaded).
 * Absent: the write goes ahead.
 * INVARIANT: called again right before the set is replaced, with no await in between, so a
 * publication that landed while the caller's set compiled is not overwritten.
 */
export function checkIfMatch(req: Request, live: string | undefined): void {
  const wanted = ifMatchVersions(req);
  if (wanted === undefined) return;
  if (live !== undefined && (wanted === '*' || wanted.includes(live))) return;
  const now = live === undefined ? 'no policy set is loaded' : `the live policy set is ${policySetEtag(live)}`;
  throw new ArgusError('precondition_failed', `If-Match \`${String(req.headers['if-match'])}\` does not name the live policy set: ${now}`, {
    errors: [{ path: PATH, message: now }],
  });
}
