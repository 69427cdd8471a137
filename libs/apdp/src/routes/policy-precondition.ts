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

/**
 * The versions an `If-Match` header names (`"sha256:…"`, a comma-separated list, `W/` tolerated as
 * the registry does), `'*'` for any set, or undefined when the header is absent. A 400 naming the
 * header when it names nothing.
 */
export function ifMatchVersions(req: Request): string[] | '*' | undefined {
  const header = req.headers['if-match'];
  if (header === undefined) return undefined;
  if (header.trim() === '*') return '*';
  const versions = header.split(',').map((tag) => /^(?:W\/)?"?([^"\s]+)"?$/.exec(tag.trim())?.[1]);
  if (versions.length === 0 || versions.some((v) => v === undefined))
    throw new InvalidInputError('invalid If-Match', [
      { path: PATH, message: 'expected the quoted version of the policy set, e.g. "sha256:…"' },
    ]);
  return versions as string[];
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
