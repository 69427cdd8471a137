/**
 * The one permission table of every Argus HTTP route (like OPA's and Cerbos's admin API guards):
 * method + path pattern → which caller kinds and roles may call it. The lean decision listener
 * and every express app (decision API, registry, approvals, governance, audit, console) read it
 * through {@link admit} / {@link permissionGuard}; `docs/security.md` is generated from it.
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import {
  authorizationOf,
  BEARER_CHALLENGE,
  credentialError,
  PRINCIPAL_KINDS,
  type Authenticator,
  type AuthPrincipal,
  type PrincipalKind,
} from './auth.ts';
import { ArgusError, ForbiddenError, InvalidInputError, NotFoundError } from './errors.ts';

/** Whether the decision API takes anonymous callers (`open`, the embedded quick start) or not (`required`). */
export type DecisionAuthMode = 'required' | 'open';

/** Who may call a route. */
export type Access =
  | 'public'
  | {
      /** Caller kinds allowed. */
      kinds: readonly PrincipalKind[];
      /** Roles that admit a human caller of any other kind listed or not (roles count for humans only). */
      roles?: readonly string[];
    };

/** One row of the table. */
export interface Permission {
  /** Upper-case HTTP method; `HEAD` is matched as `GET`. */
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /**
   * Path pattern: literal segments, `{name}` for one segment, `{name+}` for one or more; a
   * trailing `/**` matches the path itself and anything below it.
   */
  path: string;
  allow: Access;
  /** A decision route: with `auth.decisions: open` an anonymous caller passes (its side effects are skipped). */
  decision?: boolean;
  /** What the route checks itself on top of the table (documented, enforced by the route). */
  also?: string;
}

const ANY: readonly PrincipalKind[] = PRINCIPAL_KINDS;
const authenticated: Access = { kinds: ANY };
const admin: Access = { kinds: ['admin'] };
const policyAuthor: Access = { kinds: ['admin'], roles: ['policy-author'] };
const auditor: Access = { kinds: ['admin'], roles: ['auditor'] };
const governance: Access = { kinds: ['admin', 'human', 'agent'] };
const decide: Access = { kinds: ['admin', 'service', 'agent'] };
const approver: Access = { kinds: ['admin', 'human'], roles: ['approver'] };

/** The permission table. Order matters only where patterns overlap: the first match wins. */
export const PERMISSIONS: readonly Permission[] = [
  { method: 'GET', path: '/healthz', allow: 'public' },
  { method: 'GET', path: '/readyz', allow: 'public' },
  { method: 'GET', path: '/metrics', allow: 'public', also: 'counters only; bind the port privately in production' },
  { method: 'GET', path: '/openapi.json', allow: 'public' },

  {
    method: 'POST',
    path: '/v1/authorize',
    allow: decide,
    decision: true,
    also: 'an agent only for itself; `x-argus-audit: false` only for a service or admin; `x-argus-what-if: true` only for an admin, a human policy author or the service `proxy` (its service token)',
  },
  {
    method: 'POST',
    path: '/v1/authorize/batch',
    allow: decide,
    decision: true,
    also: 'an agent only for itself; `x-argus-audit: false` and `x-argus-what-if: true` as for `/v1/authorize`',
  },
  { method: 'POST', path: '/v1/data/**', allow: decide, decision: true, also: 'OPA Data API; an agent only for itself' },
  { method: 'GET', path: '/v1/data/**', allow: decide, decision: true, also: 'OPA Data API; an agent only for itself' },
  {
    method: 'POST',
    path: '/',
    allow: decide,
    decision: true,
    also: 'OPA default decision (`server.defaultDecision`); an agent only for itself',
  },
  { method: 'GET', path: '/health', allow: 'public', also: 'OPA health: 200 once a policy set is loaded' },

  { method: 'GET', path: '/v1/policies', allow: authenticated },
  { method: 'PUT', path: '/v1/policies', allow: policyAuthor },
  { method: 'GET', path: '/v1/policies/source', allow: policyAuthor },
  {
    method: 'POST',
    path: '/v1/policies/validate',
    allow: policyAuthor,
    also: 'bounded: policy count and bytes, Cedar work in a worker thread',
  },
  { method: 'GET', path: '/v1/policies/templates', allow: policyAuthor },
  { method: 'GET', path: '/v1/policies/links', allow: authenticated },
  { method: 'POST', path: '/v1/policies/links', allow: policyAuthor },
  { method: 'DELETE', path: '/v1/policies/links/{linkId}', allow: policyAuthor },
  { method: 'GET', path: '/v1/policies/shadow', allow: authenticated },
  { method: 'POST', path: '/v1/policies/shadow', allow: policyAuthor },
  { method: 'DELETE', path: '/v1/policies/shadow', allow: policyAuthor },

  { method: 'GET', path: '/v1/switches', allow: admin, also: "the stopped switches and the age of this replica's snapshot" },
  { method: 'PUT', path: '/v1/switches/all', allow: admin, also: 'stops every decision; a reason is required and logged with the caller' },
  { method: 'DELETE', path: '/v1/switches/all', allow: admin },
  {
    method: 'PUT',
    path: '/v1/switches/{scope}/{id+}',
    allow: admin,
    also: 'scope `agent`, `tool` (`<server>/<tool>`) or `server`; a reason is required and logged with the caller',
  },
  { method: 'DELETE', path: '/v1/switches/{scope}/{id+}', allow: admin },

  { method: 'GET', path: '/v1/decisions', allow: auditor },
  { method: 'GET', path: '/v1/decisions/stream', allow: auditor },
  { method: 'GET', path: '/v1/decisions/{id}', allow: auditor },

  { method: 'GET', path: '/v1/approvals', allow: approver, also: 'a human without `approver` sees only requests rooted at itself' },
  {
    method: 'GET',
    path: '/v1/approvals/{id}',
    allow: approver,
    also: 'a human without `approver` only when it is the root of the held chain',
  },
  {
    method: 'POST',
    path: '/v1/approvals/{id}',
    allow: approver,
    also: 'a human without `approver` only when it is the root of the held chain; never the requester',
  },

  {
    method: 'POST',
    path: '/v1/delegations',
    allow: governance,
    also: 'grantor = caller (admin: on behalf of a named human); attenuation, depth',
  },
  { method: 'GET', path: '/v1/delegations', allow: governance, also: 'grants the caller is involved in' },
  { method: 'POST', path: '/v1/delegations/token', allow: governance },
  { method: 'GET', path: '/v1/delegations/{id}', allow: governance, also: 'grantee, a grantor up its chain, or admin' },
  { method: 'POST', path: '/v1/delegations/{id}/revoke', allow: governance, also: 'a grantor up its chain, the root human, or admin' },
  { method: 'GET', path: '/v1/delegations/**', allow: governance },
  { method: 'POST', path: '/v1/delegations/**', allow: governance },
  { method: 'DELETE', path: '/v1/delegations/**', allow: governance },
  { method: 'POST', path: '/v1/goals', allow: governance, also: 'humans (admin: on behalf of a named human)' },
  { method: 'GET', path: '/v1/goals', allow: governance },
  { method: 'GET', path: '/v1/goals/{id}', allow: governance },
  { method: 'PATCH', path: '/v1/goals/{id}', allow: governance, also: 'the owner or admin' },
  {
    method: 'POST',
    path: '/v1/goals/{id}/usage',
    allow: { kinds: ['admin', 'human', 'agent', 'service'] },
    also: 'a goal the caller may read; the service `proxy` (the standalone proxy charging tokens and cost) for an agent the goal lists',
  },
  { method: 'GET', path: '/v1/goals/**', allow: governance },
  { method: 'POST', path: '/v1/goals/**', allow: governance },
  { method: 'GET', path: '/v1/intents', allow: authenticated },

  { method: 'POST', path: '/v1/registry/humans', allow: admin },
  { method: 'GET', path: '/v1/registry/humans', allow: authenticated },
  { method: 'GET', path: '/v1/registry/humans/{id}', allow: authenticated },
  { method: 'PATCH', path: '/v1/registry/humans/{id}', allow: admin },
  { method: 'DELETE', path: '/v1/registry/humans/{id}', allow: admin },
  ...(['agents', 'mcp-servers'] as const).flatMap((kind): Permission[] => [
    { method: 'POST', path: `/v1/registry/${kind}`, allow: admin },
    { method: 'GET', path: `/v1/registry/${kind}`, allow: authenticated },
    { method: 'GET', path: `/v1/registry/${kind}/{id}`, allow: authenticated },
    { method: 'PATCH', path: `/v1/registry/${kind}/{id}`, allow: admin },
    { method: 'DELETE', path: `/v1/registry/${kind}/{id}`, allow: admin },
    { method: 'PUT', path: `/v1/registry/${kind}/{id}`, allow: { kinds: ['admin', 'scanner'] }, also: "the scanners' idempotent upsert" },
    { method: 'POST', path: `/v1/registry/${kind}/{id}/trust`, allow: admin },
    ...(kind === 'mcp-servers'
      ? ([
          {
            method: 'PATCH',
            path: `/v1/registry/${kind}/{id}/tools/{tool}`,
            allow: admin,
            also: 'governance attributes only; never changes trust',
          },
          {
            method: 'POST',
            path: `/v1/registry/${kind}/{id}/live-tools`,
            allow: { kinds: ['admin', 'scanner', 'service'] },
            also: 'a service only as `proxy`: the runtime rug-pull check of the standalone proxy',
          },
        ] as Permission[])
      : []),
    { method: 'GET', path: `/v1/registry/${kind}/{id}/history`, allow: authenticated },
    kind === 'agents'
      ? {
          method: 'POST',
          path: `/v1/registry/${kind}/{id}/lease`,
          allow: { kinds: ['admin', 'scanner', 'agent'] },
          also: 'an agent only for itself',
        }
      : { method: 'POST', path: `/v1/registry/${kind}/{id}/lease`, allow: { kinds: ['admin', 'scanner'] } },
  ]),

  { method: 'POST', path: '/console/api/candidate/evaluate', allow: policyAuthor, also: 'bounded candidate size' },
  {
    method: 'GET',
    path: '/console/**',
    allow: 'public',
    also: "static console files; every call they make carries the user's credential",
  },
];

/** A matched row and the path parameters it captured (still percent-encoded). */
export interface PermissionMatch {
  permission: Permission;
  params: Record<string, string>;
}

interface CompiledPattern {
  permission: Permission;
  segments: Array<{ literal: string } | { param: string; rest: boolean }>;
  subtree: boolean;
}

function compile(permission: Permission): CompiledPattern {
  let path = permission.path;
  const subtree = path.endsWith('/**');
  if (subtree) path = path.slice(0, -3);
  const segments = path
    .split('/')
    .slice(1)
    .map((s) => {
      const m = /^\{(\w+)(\+?)\}$/.exec(s);
      // Lower case: express routes in any letter case, so the table matches in any too (fails closed).
      return m ? { param: m[1]!, rest: m[2] === '+' } : { literal: s.toLowerCase() };
    });
  return { permission, segments, subtree };
}

/** A compiled table, matched segment by segment. */
export class PermissionTable {
  private readonly patterns: CompiledPattern[];

  constructor(readonly rows: readonly Permission[] = PERMISSIONS) {
    this.patterns = rows.map(compile);
  }

  /** The first row matching `method` and the raw (still encoded) `path`, its literal segments in any letter case, if any. */
  match(method: string, path: string): PermissionMatch | undefined {
    const m = method.toUpperCase() === 'HEAD' ? 'GET' : method.toUpperCase();
    const parts = path.split('/').slice(1);
    if (parts.length > 1 && parts[parts.length - 1] === '') parts.pop();
    const lower = path.toLowerCase() === path ? parts : parts.map((part) => part.toLowerCase());
    for (const p of this.patterns) {
      if (p.permission.method !== m) continue;
      const params = matchSegments(p, parts, lower);
      if (params) return { permission: p.permission, params };
    }
    return undefined;
  }
}

/** `parts` matched against `p`: literal segments compared in lower case (`lower`), parameters taken as sent. */
function matchSegments(p: CompiledPattern, parts: string[], lower: string[]): Record<string, string> | undefined {
  const params: Record<string, string> = {};
  let i = 0;
  for (const seg of p.segments) {
    if ('literal' in seg) {
      if (lower[i] !== seg.literal) return undefined;
      i++;
    } else if (seg.rest) {
      if (i >= parts.length) return undefined;
      params[seg.param] = parts.slice(i).join('/');
      i = parts.length;
    } else {
      if (parts[i] === undefined || parts[i] === '') return undefined;
      params[seg.param] = parts[i]!;
      i++;
    }
  }
  if (i === parts.length) return params;
  return p.subtree ? params : undefined;
}

/** Whether `principal` may call a route with this access (roles admit humans only). */
export function permits(access: Access, principal: AuthPrincipal): boolean {
  if (access === 'public') return true;
  if (access.kinds.includes(principal.kind)) return true;
  // INVARIANT: roles widen access for humans only; an agent or service claiming `approver` gets nothing from it.
  return principal.kind === 'human' && (access.roles ?? []).some((r) => principal.roles.includes(r));
}

/** Who a row admits, in words (error messages and the generated documentation). */
export function describeAccess(access: Access): string {
  if (access === 'public') return 'anyone';
  const all = access.kinds.length === PRINCIPAL_KINDS.length;
  const kinds = all ? 'any authenticated caller' : access.kinds.map((k) => `\`${k}\``).join(', ');
  const roles = (access.roles ?? []).map((r) => `human with role \`${r}\``);
  return [kinds, ...roles].join(', ');
}

/** The default table, compiled once. */
export const DEFAULT_PERMISSION_TABLE = new PermissionTable();

/** What {@link admit} needs. */
export interface AdmitOptions {
  auth: Authenticator;
  /** Default `required`. */
  decisions?: DecisionAuthMode;
  table?: PermissionTable;
}

/** The outcome of {@link admit}: the caller (absent: anonymous on an open decision route, or a public route), or the error to answer. */
export type Admission =
  { ok: true; permission: Permission; principal?: AuthPrincipal } | { ok: false; error: ArgusError; challenge: boolean };

/**
 * Checks the path's percent-escapes (a malformed escape is a 400 naming the path), finds the row
 * for `method` + `path` (none under `/v1/`, in any letter case: 404, fail closed; none elsewhere: undefined, the app
 * answers) and authenticates the caller against it: 401 for a missing or bad credential, 403 for
 * a caller the row does not admit. Never throws.
 */
export async function admit(
  options: AdmitOptions,
  method: string,
  rawPath: string,
  authorization: string | undefined,
): Promise<Admission | undefined> {
  // INVARIANT: the table matches paths; a request target in another form (`http://host/v1/...`,
  // which express routes by its path) would match no row and pass as "not ours" (fails closed).
  const foreign = notOriginForm(rawPath);
  if (foreign) return { ok: false, error: foreign, challenge: false };
  const bad = malformedEscape(rawPath);
  if (bad) return { ok: false, error: bad, challenge: false };
  const match = (options.table ?? DEFAULT_PERMISSION_TABLE).match(method, rawPath);
  if (!match) {
    // INVARIANT: express matches routes case-insensitively, so `/V1/...` is under `/v1/` too (fails
    // closed), and the table matches every row in any letter case (`/Console/API/...`).
    const lower = rawPath.toLowerCase();
    if (!lower.startsWith('/v1/') && lower !== '/v1') return undefined;
    return { ok: false, error: new NotFoundError(`no route for ${method.toUpperCase()} \`${rawPath.slice(0, 200)}\``), challenge: false };
  }
  const { permission } = match;
  if (permission.allow === 'public') return { ok: true, permission };
  const anonymousAllowed = permission.decision === true && options.decisions === 'open';
  if (anonymousAllowed && (authorization === undefined || authorization === '')) return { ok: true, permission };
  let result;
  try {
    result = await options.auth.authenticate(authorization);
  } catch {
    result = { ok: false as const, reason: 'invalid' as const };
  }
  if (!result.ok) return { ok: false, error: credentialError(result.reason), challenge: true };
  if (!permits(permission.allow, result.principal)) {
    const who = describeAccess(permission.allow);
    const message = `${method.toUpperCase()} ${permission.path} is for ${who}; this credential is \`${result.principal.kind}\``;
    return { ok: false, error: new ForbiddenError(message), challenge: false };
  }
  return { ok: true, permission, principal: result.principal };
}

/**
 * A 400 for a request target that is not a path (origin form, `/...`): the absolute form
 * (`http://host/v1/policies`), the asterisk form, anything else, and a path with a fragment. Argus
 * is no forward proxy, and every route, permission and upstream is matched on the path as sent.
 */
export function notOriginForm(target: string): InvalidInputError | undefined {
  if (!target.startsWith('/'))
    return new InvalidInputError('the request target must be a path beginning with `/` (origin form)', [
      { path: target.slice(0, 200), message: 'not a path: absolute and asterisk forms are refused' },
    ]);
  // A fragment is never sent (RFC 9112 §3.2.1): Node keeps it in `req.url`, where a route or a
  // decision would read it, while a proxy's URL parser drops it before the upstream sees the path.
  if (target.includes('#'))
    return new InvalidInputError('the request target must not carry a fragment (`#`)', [
      { path: target.slice(0, 200), message: 'a fragment is never part of a request target' },
    ]);
  return undefined;
}

/** A 400 naming the path when a percent-escape in it does not decode (`%E0%A4%A`). */
export function malformedEscape(rawPath: string): InvalidInputError | undefined {
  const q = rawPath.indexOf('?');
  const path = q < 0 ? rawPath : rawPath.slice(0, q);
  if (!path.includes('%')) return undefined;
  try {
    decodeURIComponent(path);
    return undefined;
  } catch {
    const errors = [{ path: path.slice(0, 200), message: 'not a valid UTF-8 percent-encoding' }];
    return new InvalidInputError('malformed percent-escape in the request path', errors);
  }
}

/**
 * The express guard in front of an app: every request is admitted by the table before any route
 * runs. The caller is left on `res.locals.principal` (read with `principalOf`); an anonymous
 * caller of an open decision route leaves `res.locals.anonymous = true`.
 */
export function permissionGuard(options: AdmitOptions): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    if (res.locals.admitted === true) return next();
    admit(options, req.method, req.originalUrl.split('?')[0] ?? '/', authorizationOf(req)).then(
      (admission) => {
        if (!admission) return next();
        if (!admission.ok) {
          if (admission.challenge) res.setHeader('www-authenticate', BEARER_CHALLENGE);
          return next(admission.error);
        }
        res.locals.admitted = true;
        if (admission.principal) res.locals.principal = admission.principal;
        else if (admission.permission.allow !== 'public') res.locals.anonymous = true;
        next();
      },
      (err: unknown) => next(err),
    );
  };
}

/** The permission table as a Markdown table (`docs/security.md` embeds it; a test fails when they differ). */
export function permissionTableMarkdown(table: PermissionTable = DEFAULT_PERMISSION_TABLE): string {
  const cell = (s: string) => s.replace(/\|/g, '\\|');
  const lines = [
    '| Method | Path | Who may call | Anonymous when `auth.decisions: open` | The route also checks |',
    '| --- | --- | --- | --- | --- |',
  ];
  for (const row of table.rows) {
    const anonymous = row.decision ? 'yes (side effects skipped)' : '';
    lines.push(`| ${row.method} | \`${cell(row.path)}\` | ${cell(describeAccess(row.allow))} | ${anonymous} | ${cell(row.also ?? '')} |`);
  }
  return lines.join('\n');
}
