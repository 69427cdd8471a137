#!/usr/bin/env node
// Generates the OpenAPI 3.1 document of every Argus HTTP API (decision point, governance, audit
// queries, approvals, registry, health) from the JSON Schemas in schemas/, so request bodies and
// query parameters can never drift from what the servers validate.
//
//   node scripts/gen-openapi.mjs           writes schemas/openapi/argus.openapi.json
//   node scripts/gen-openapi.mjs --check   exits 1 when the file on disk is stale
//
// The route table below is checked against the express routers that really exist by
// libs/apdp/src/routes/openapi.test.ts (both directions: nothing undocumented, nothing invented).
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadSchemas, ROOT, writeOrCheck } from './generated-files.mjs';

const OUT = join(ROOT, 'schemas', 'openapi', 'argus.openapi.json');
const BASE = 'https://argus.dev/schemas/';

/** `https://argus.dev/schemas/registry/agent-create.json` → `registry.agent-create`. */
function componentName(id) {
  return id
    .slice(BASE.length)
    .replace(/\.json$/, '')
    .replaceAll('/', '.');
}

const ERROR = { $ref: '#/components/schemas/Error' };
const errors = (...codes) =>
  Object.fromEntries(
    codes.map((c) => [
      String(c),
      {
        description:
          {
            400: 'Invalid input: `errors[].path` names each offending JSON path',
            401: 'No valid credential',
            403: 'The credential may not do this',
            404: 'No such record',
            409: 'Conflict (version mismatch, duplicate, illegal transition)',
            412: 'If-Match precondition failed',
            413: 'Body larger than `server.maxBodyBytes`',
            422: 'The policy set does not compile; the last good set stays active',
            503: 'A dependency is unavailable (fail closed)',
          }[c] ?? 'Error',
        content: { 'application/json': { schema: ERROR } },
      },
    ]),
  );
const json = (description, schema = { type: 'object' }) => ({ description, content: { 'application/json': { schema } } });
const body = (id) => ({ required: true, content: { 'application/json': { schema: { $ref: `${BASE}${id}.json` } } } });
const idParam = (name = 'id', description = 'Record id') => ({
  name,
  in: 'path',
  required: true,
  description,
  schema: { type: 'string', minLength: 1 },
});
const q = (name, schema, description) => ({ name, in: 'query', required: false, ...(description ? { description } : {}), schema });
/** `If-Match` on a write of the live policy set: its version as `GET /v1/policies` answers it in the ETag. */
const IF_MATCH_POLICY_SET = {
  name: 'if-match',
  in: 'header',
  required: false,
  description: 'The live policy set\'s version as its ETag answers it (`"sha256:…"`); another version is a 412 `precondition_failed`',
  schema: { type: 'string' },
};
/** `If-Match` on a write of one registry record: its version as the record's ETag answers it. */
const IF_MATCH_RECORD = {
  name: 'if-match',
  in: 'header',
  required: false,
  description:
    'The record\'s version as its ETag answers it (`"3"`); another version is a 412 `precondition_failed`, a malformed one a 400',
  schema: { type: 'string' },
};
/** The paging query parameters of a list route whose query has no schema of its own. */
const PAGE_PARAMS = [q('limit', { type: 'string', pattern: '^[0-9]+$' }), q('cursor', { type: 'string' })];
const OPA_QUERY = [
  q('pretty', { type: 'string' }, 'Indent the answer'),
  q(
    'explain',
    { enum: ['notes', 'fails', 'full', 'debug', 'off'] },
    'Add `explanation`: notes (one line per reason), full (with the closest permits)',
  ),
  q('metrics', { type: 'string' }, 'Add `metrics` (timer_*_ns)'),
  q('provenance', { type: 'string' }, 'Add `provenance` (policy-set revision)'),
];
const ADMIN = [{ bearer: [] }];
const SWITCH_BODY = {
  required: true,
  content: {
    'application/json': {
      schema: {
        type: 'object',
        required: ['reason'],
        additionalProperties: false,
        properties: {
          reason: { type: 'string', minLength: 1, maxLength: 500, description: 'Why; repeated in every deny the switch causes' },
        },
      },
    },
  },
};
const SWITCH_PARAMS = [
  { name: 'scope', in: 'path', required: true, schema: { enum: ['agent', 'tool', 'server'] } },
  {
    name: 'id',
    in: 'path',
    required: true,
    description: 'Agent or MCP server id; a tool id is `<server>/<tool>` (its slash as is, or `%2F`)',
    schema: { type: 'string', minLength: 1 },
  },
];
const ANY = [{ bearer: [] }];

/**
 * The route table: [method, OpenAPI path, operation]. `query` names a query-parameter schema whose
 * properties become parameters; `x-express-path` is set where the express route is a RegExp.
 */
const ROUTES = [
  // ---- health (every app: apdp, registry, proxy) --------------------------------------------
  [
    'get',
    '/healthz',
    {
      tags: ['health'],
      summary: 'Liveness: the process answers',
      security: [],
      responses: { 200: json('Alive', { type: 'object', properties: { status: { const: 'ok' } } }) },
    },
  ],
  [
    'get',
    '/readyz',
    {
      tags: ['health'],
      summary: 'Readiness: every check passes (policies loaded, store reachable, audit healthy)',
      security: [],
      responses: {
        200: json('Ready', { $ref: '#/components/schemas/Readiness' }),
        503: json('Not ready', { $ref: '#/components/schemas/Readiness' }),
      },
    },
  ],
  [
    'get',
    '/metrics',
    {
      tags: ['health'],
      summary: 'Prometheus metrics',
      security: [],
      responses: { 200: { description: 'Prometheus text exposition', content: { 'text/plain': { schema: { type: 'string' } } } } },
    },
  ],
  ['get', '/openapi.json', { tags: ['health'], summary: 'This document', security: [], responses: { 200: json('OpenAPI 3.1 document') } }],
  // ---- decisions ------------------------------------------------------------------------------
  [
    'post',
    '/v1/authorize',
    {
      tags: ['decisions'],
      summary: 'Decide one action',
      security: [],
      requestBody: body('authorize-request'),
      responses: {
        200: json('The decision, with a decision_id and the policy-set version', { $ref: '#/components/schemas/AuthorizeResponse' }),
        ...errors(400, 413),
      },
    },
  ],
  [
    'post',
    '/v1/authorize/batch',
    {
      tags: ['decisions'],
      summary: 'Decide many actions, each with its own decision_id',
      security: [],
      requestBody: body('authorize-batch-request'),
      responses: { 200: json('One result per input, in order'), ...errors(400, 413) },
    },
  ],
  [
    'post',
    '/v1/data/{path}',
    {
      tags: ['decisions'],
      summary:
        "OPA Data API: `{input}` in, `{result, decision_id}` out; documents `argus/allow` (boolean), `argus/decision` (`allow | deny | needs_approval`), `argus/authorize`, `argus`; a body without `input` is evaluated with OPA's `api_usage_warning`; JSON read whatever the declared type unless clearly another format",
      'x-express-path': '^\\/v1\\/data(?:\\/(.*))?$',
      security: [],
      parameters: [
        {
          name: 'path',
          in: 'path',
          required: true,
          description: 'Document path; may span several segments (`argus/allow`)',
          schema: { type: 'string' },
        },
        ...OPA_QUERY,
      ],
      requestBody: { ...body('data-request'), required: false },
      responses: { 200: json('`{result, decision_id, warning?, explanation?, metrics?, provenance?}`'), ...errors(400, 413, 415) },
    },
  ],
  [
    'get',
    '/v1/data/{path}',
    {
      tags: ['decisions'],
      summary: 'OPA Data API: the document for `?input=` (URL-encoded JSON)',
      'x-express-path': '^\\/v1\\/data(?:\\/(.*))?$',
      security: [],
      parameters: [
        { name: 'path', in: 'path', required: true, description: 'Document path (`argus/decision`)', schema: { type: 'string' } },
        q('input', { type: 'string' }, 'The input document, URL-encoded JSON'),
        ...OPA_QUERY,
      ],
      responses: { 200: json('`{result, decision_id}`'), ...errors(400) },
    },
  ],
  [
    'post',
    '/',
    {
      tags: ['decisions'],
      summary: 'OPA default decision: the body is the input; answers the configured document (`server.defaultDecision`) unwrapped',
      security: [],
      requestBody: { required: true, content: { 'application/json': { schema: { $ref: `${BASE}authorize-request.json#/$defs/input` } } } },
      responses: { 200: json('The document value', {}), ...errors(400, 404, 413) },
    },
  ],
  [
    'get',
    '/health',
    {
      tags: ['health'],
      summary: 'OPA health: 200 `{}` once a policy set is loaded',
      security: [],
      responses: { 200: json('Healthy'), 500: json('No policy set loaded') },
    },
  ],
  // ---- policies -------------------------------------------------------------------------------
  [
    'get',
    '/v1/policies',
    {
      tags: ['policies'],
      summary: 'The active policy set: version, policies, files, last refused reload',
      security: [],
      responses: { 200: json('Active set (ETag: its version)'), ...errors(503) },
    },
  ],
  [
    'put',
    '/v1/policies',
    {
      tags: ['policies'],
      summary: 'Publish a policy set (admin; If-Match optional); every replica loads it',
      security: ADMIN,
      parameters: [IF_MATCH_POLICY_SET],
      requestBody: body('policies-put-request'),
      responses: { 200: json('Published version (ETag: it)'), ...errors(400, 401, 403, 412, 422) },
    },
  ],
  [
    'get',
    '/v1/policies/source',
    {
      tags: ['policies'],
      summary: 'The active schema, policy texts and template links',
      security: [],
      responses: { 200: json('Sources'), ...errors(503) },
    },
  ],
  [
    'post',
    '/v1/policies/validate',
    {
      tags: ['policies'],
      summary: 'Compile a candidate set without activating it',
      security: [],
      requestBody: body('policies-put-request'),
      responses: { 200: json('`{valid, version?, diagnostics?, warnings}`'), ...errors(400) },
    },
  ],
  [
    'get',
    '/v1/policies/templates',
    {
      tags: ['policies'],
      summary: 'Policy templates of the active set and their slots',
      security: [],
      responses: { 200: json('Templates') },
    },
  ],
  [
    'get',
    '/v1/policies/links',
    {
      tags: ['policies'],
      summary: 'Template links of the active set',
      security: [],
      parameters: [q('templateId', { type: 'string' }, 'Only links of this template')],
      responses: { 200: json('Links') },
    },
  ],
  [
    'post',
    '/v1/policies/links',
    {
      tags: ['policies'],
      summary: 'Link a template (admin; If-Match optional); publishes a new version',
      security: ADMIN,
      parameters: [IF_MATCH_POLICY_SET],
      requestBody: {
        required: true,
        content: { 'application/json': { schema: { $ref: `${BASE}policies-put-request.json#/properties/links/items` } } },
      },
      responses: { 201: json('The new version and link'), ...errors(400, 401, 403, 409, 412, 422) },
    },
  ],
  [
    'delete',
    '/v1/policies/links/{linkId}',
    {
      tags: ['policies'],
      summary: 'Remove a template link (admin; If-Match optional)',
      security: ADMIN,
      parameters: [idParam('linkId', 'Link id'), IF_MATCH_POLICY_SET],
      responses: { 200: json('The new version'), ...errors(400, 401, 403, 404, 412) },
    },
  ],
  [
    'get',
    '/v1/policies/shadow',
    { tags: ['policies'], summary: 'The shadow candidate and its flip counts', security: [], responses: { 200: json('Shadow state') } },
  ],
  [
    'post',
    '/v1/policies/shadow',
    {
      tags: ['policies'],
      summary: 'Install a shadow candidate evaluated beside the active set (admin)',
      security: ADMIN,
      requestBody: body('policies-put-request'),
      responses: { 200: json('Shadow state'), ...errors(400, 401, 403, 422) },
    },
  ],
  [
    'delete',
    '/v1/policies/shadow',
    {
      tags: ['policies'],
      summary: 'Remove the shadow candidate (admin)',
      security: ADMIN,
      responses: { 200: json('Removed'), ...errors(401, 403) },
    },
  ],
  // ---- audit ----------------------------------------------------------------------------------
  [
    'get',
    '/v1/decisions',
    {
      tags: ['audit'],
      summary: 'Query the audit trail',
      security: ANY,
      query: 'audit/decisions-query',
      responses: {
        200: json('`{decisions, next_cursor?}`', {
          type: 'object',
          properties: { decisions: { type: 'array', items: { $ref: `${BASE}audit/audit-record.json` } }, next_cursor: { type: 'string' } },
        }),
        ...errors(400, 401),
      },
    },
  ],
  [
    'get',
    '/v1/decisions/stream',
    {
      tags: ['audit'],
      summary: 'Live decisions as server-sent events',
      security: ANY,
      query: 'audit/decisions-query',
      responses: {
        200: { description: '`event: decision` per record', content: { 'text/event-stream': { schema: { type: 'string' } } } },
        ...errors(400, 401),
      },
    },
  ],
  [
    'get',
    '/v1/decisions/{id}',
    {
      tags: ['audit'],
      summary: 'One audit record by decision id',
      security: ANY,
      parameters: [idParam('id', 'Decision id')],
      responses: { 200: json('Audit record', { $ref: `${BASE}audit/audit-record.json` }), ...errors(401, 404) },
    },
  ],
  // ---- governance -----------------------------------------------------------------------------
  [
    'post',
    '/v1/delegations',
    {
      tags: ['governance'],
      summary: 'Grant a delegation: a human or an agent as itself, an admin on behalf of a named human (`onBehalfOf`) or agent (`from`)',
      security: ANY,
      requestBody: body('governance/delegation-create'),
      responses: { 201: json('The grant'), ...errors(400, 401, 403, 409) },
    },
  ],
  [
    'get',
    '/v1/delegations',
    {
      tags: ['governance'],
      summary: 'Grants given (`from`) or held (`to`)',
      security: ANY,
      parameters: [
        q('from', { type: 'string' }, '`Type::id` of the grantor'),
        q('to', { type: 'string' }, '`Type::id` of the grantee'),
        q('active', { enum: ['true', 'false'] }),
        ...PAGE_PARAMS,
      ],
      responses: { 200: json('A page of grants'), ...errors(400, 401, 403) },
    },
  ],
  [
    'get',
    '/v1/delegations/{id}',
    {
      tags: ['governance'],
      summary: 'One grant (admin, grantee, or a grantor up its chain)',
      security: ANY,
      parameters: [idParam()],
      responses: { 200: json('The grant and whether it is active'), ...errors(401, 404) },
    },
  ],
  [
    'post',
    '/v1/delegations/{id}/revoke',
    {
      tags: ['governance'],
      summary: 'Revoke a grant and every grant below it; every replica denies at once',
      security: ANY,
      parameters: [idParam()],
      requestBody: body('governance/delegation-revoke'),
      responses: { 200: json('`{revoked: [ids], at}`'), ...errors(400, 401, 404) },
    },
  ],
  [
    'post',
    '/v1/delegations/token',
    {
      tags: ['governance'],
      summary: 'Sign a delegation token for a verified chain',
      security: ANY,
      requestBody: body('governance/delegation-token-request'),
      responses: { 201: json('`{token, expiresAt, grants, depth}`'), ...errors(400, 401, 403, 503) },
    },
  ],
  [
    'post',
    '/v1/goals',
    {
      tags: ['governance'],
      summary: 'Set a goal: a human as owner, or an admin on behalf of a named human (`onBehalfOf`)',
      security: ANY,
      requestBody: body('governance/goal-create'),
      responses: { 201: json('The goal with its usage'), ...errors(400, 401, 403, 409) },
    },
  ],
  [
    'get',
    '/v1/goals',
    {
      tags: ['governance'],
      summary: 'Goals visible to the caller',
      security: ANY,
      parameters: [
        q('owner', { type: 'string' }),
        q('agent', { type: 'string' }),
        q('status', { enum: ['active', 'paused', 'completed', 'cancelled', 'expired'] }),
        ...PAGE_PARAMS,
      ],
      responses: { 200: json('A page of goals'), ...errors(400, 401, 403) },
    },
  ],
  [
    'get',
    '/v1/goals/{id}',
    {
      tags: ['governance'],
      summary: 'One goal with its usage',
      security: ANY,
      parameters: [idParam()],
      responses: { 200: json('The goal'), ...errors(401, 404) },
    },
  ],
  [
    'patch',
    '/v1/goals/{id}',
    {
      tags: ['governance'],
      summary: "Change a goal's status (its owner or an admin)",
      security: ANY,
      parameters: [idParam()],
      requestBody: body('governance/goal-patch'),
      responses: { 200: json('The goal'), ...errors(400, 401, 403, 404, 409) },
    },
  ],
  [
    'post',
    '/v1/goals/{id}/usage',
    {
      tags: ['governance'],
      summary: "Report usage against a goal's budget",
      security: ANY,
      parameters: [idParam()],
      requestBody: body('governance/goal-usage'),
      responses: { 200: json('`{goal, used, remaining}`'), ...errors(400, 401, 404) },
    },
  ],
  [
    'get',
    '/v1/intents',
    {
      tags: ['governance'],
      summary: 'The intent catalogue',
      security: ANY,
      responses: { 200: json('Intent catalogue', { $ref: `${BASE}governance/intent-catalogue.json` }), ...errors(401) },
    },
  ],
  // ---- switches -------------------------------------------------------------------------------
  [
    'get',
    '/v1/switches',
    {
      tags: ['switches'],
      summary: "The stopped switches (admin) and the age of this replica's snapshot",
      security: ADMIN,
      responses: {
        200: json('`{switches: [{scope, id, stopped, reason, by, at}], snapshot: {fresh, ageMs, maxStaleMs, error?}}`'),
        ...errors(401, 403),
      },
    },
  ],
  [
    'put',
    '/v1/switches/all',
    {
      tags: ['switches'],
      summary: 'Stop everything (admin): every decision is denied `switch_stopped` until resumed',
      security: ADMIN,
      requestBody: SWITCH_BODY,
      responses: { 200: json('`{switch, snapshot}`'), ...errors(400, 401, 403) },
    },
  ],
  [
    'delete',
    '/v1/switches/all',
    {
      tags: ['switches'],
      summary: 'Resume everything (admin)',
      security: ADMIN,
      responses: { 200: json('`{resumed, snapshot}`'), ...errors(401, 403, 404) },
    },
  ],
  [
    'put',
    '/v1/switches/{scope}/{id}',
    {
      tags: ['switches'],
      summary: 'Stop an agent (and the sub-agents acting on its authority), a tool (`<server>/<tool>`) or an MCP server (admin)',
      'x-express-path': '/v1/switches/:scope/*id',
      security: ADMIN,
      parameters: SWITCH_PARAMS,
      requestBody: SWITCH_BODY,
      responses: { 200: json('`{switch, snapshot}`'), ...errors(400, 401, 403) },
    },
  ],
  [
    'delete',
    '/v1/switches/{scope}/{id}',
    {
      tags: ['switches'],
      summary: 'Resume a switch (admin)',
      'x-express-path': '/v1/switches/:scope/*id',
      security: ADMIN,
      parameters: SWITCH_PARAMS,
      responses: { 200: json('`{resumed, snapshot}`'), ...errors(400, 401, 403, 404) },
    },
  ],
  // ---- approvals ------------------------------------------------------------------------------
  [
    'get',
    '/v1/approvals',
    {
      tags: ['approvals'],
      summary: 'Approval requests (humans)',
      security: ANY,
      query: 'effects/approvals-query',
      responses: {
        200: json('A page of approval requests', {
          type: 'object',
          properties: {
            items: { type: 'array', items: { $ref: `${BASE}effects/approval-request.json` } },
            next_cursor: { type: 'string' },
          },
        }),
        ...errors(400, 401, 403),
      },
    },
  ],
  [
    'get',
    '/v1/approvals/{id}',
    {
      tags: ['approvals'],
      summary: 'One approval request',
      security: ANY,
      parameters: [idParam()],
      responses: { 200: json('Approval request', { $ref: `${BASE}effects/approval-request.json` }), ...errors(401, 403, 404) },
    },
  ],
  [
    'post',
    '/v1/approvals/{id}',
    {
      tags: ['approvals'],
      summary: 'Approve or reject (humans)',
      security: ANY,
      parameters: [idParam()],
      requestBody: body('effects/approval-decision'),
      responses: { 200: json('Approval request', { $ref: `${BASE}effects/approval-request.json` }), ...errors(400, 401, 403, 404, 409) },
    },
  ],
  // ---- registry -------------------------------------------------------------------------------
  ...registryRoutes('humans', 'human', { upsert: false, trust: false }),
  ...registryRoutes('agents', 'agent', { upsert: true, trust: true }),
  ...registryRoutes('mcp-servers', 'mcp-server', { upsert: true, trust: true }),
  [
    'post',
    '/v1/registry/mcp-servers/{id}/live-tools',
    {
      tags: ['registry'],
      summary:
        'The proxy reports the tool list a server answered (admins, scanners, the service proxy); a change on a trusted server moves it to pending with the diff',
      security: ANY,
      parameters: [idParam()],
      requestBody: body('registry/mcp-live-tools'),
      responses: { 200: json('`{id, trust, diff}`'), ...errors(400, 401, 403, 404, 413) },
    },
  ],
  [
    'patch',
    '/v1/registry/mcp-servers/{id}/tools/{tool}',
    {
      tags: ['registry'],
      summary:
        "Set a tool's governance attributes (admin; sensitivity, allowedIntents, category, labels; null clears); never changes its hash or the server's trust",
      security: ADMIN,
      parameters: [idParam(), idParam('tool', 'Tool name')],
      requestBody: body('registry/mcp-tool-attributes'),
      responses: { 200: json('The MCP server'), ...errors(400, 401, 403, 404, 412) },
    },
  ],
];

function registryRoutes(collection, kind, { upsert, trust }) {
  const base = `/v1/registry/${collection}`;
  const tags = ['registry'];
  const rec = `${kind.replace('-', ' ')}`;
  const out = [
    [
      'post',
      base,
      {
        tags,
        summary: `Register a ${rec} (admin)`,
        security: ADMIN,
        requestBody: body(`registry/${kind}-create`),
        responses: { 201: json(`The ${rec}`), ...errors(400, 401, 403, 409) },
      },
    ],
    [
      'get',
      base,
      {
        tags,
        summary: `List ${collection.replace('-', ' ')}`,
        security: ANY,
        query: `registry/${collection}-query`,
        responses: { 200: json('`{items, next_cursor?}`'), ...errors(400, 401) },
      },
    ],
    [
      'get',
      `${base}/{id}`,
      {
        tags,
        summary: `One ${rec}${trust ? ' with its live lease state' : ''}`,
        security: ANY,
        parameters: [idParam()],
        responses: { 200: json(`The ${rec} (ETag: its version)`), ...errors(401, 404) },
      },
    ],
    [
      'patch',
      `${base}/{id}`,
      {
        tags,
        summary: `Update a ${rec} (admin; If-Match optional)`,
        security: ADMIN,
        parameters: [idParam(), IF_MATCH_RECORD],
        requestBody: body(`registry/${kind}-patch`),
        responses: { 200: json(`The ${rec}`), ...errors(400, 401, 403, 404, 412) },
      },
    ],
    [
      'delete',
      `${base}/{id}`,
      {
        tags,
        summary: `Delete a ${rec} (admin; If-Match optional)`,
        security: ADMIN,
        parameters: [idParam(), IF_MATCH_RECORD],
        responses: { 204: { description: 'Deleted' }, ...errors(400, 401, 403, 404, 412) },
      },
    ],
  ];
  if (upsert)
    out.push([
      'put',
      `${base}/{id}`,
      {
        tags,
        summary: `A scanner reports a ${rec} (idempotent upsert)`,
        security: ANY,
        parameters: [idParam()],
        requestBody: body(`registry/${kind}-upsert`),
        responses: { 200: json(`The ${rec}`), 201: json(`The new ${rec}`), ...errors(400, 401, 403, 409) },
      },
    ]);
  if (trust) {
    out.push(
      [
        'post',
        `${base}/{id}/trust`,
        {
          tags,
          summary: `Move a ${rec} to another trust state (admin); every replica sees it`,
          security: ADMIN,
          parameters: [idParam()],
          requestBody: body('registry/trust-change'),
          responses: { 200: json(`The ${rec}`), ...errors(400, 401, 403, 404, 409) },
        },
      ],
      [
        'get',
        `${base}/{id}/history`,
        {
          tags,
          summary: 'Trust-state history',
          security: ANY,
          parameters: [idParam()],
          query: 'registry/page-query',
          responses: { 200: json('A page of transitions'), ...errors(400, 401, 404) },
        },
      ],
      [
        'post',
        `${base}/{id}/lease`,
        {
          tags,
          summary: 'Heartbeat: renew the lease',
          security: ANY,
          parameters: [idParam()],
          requestBody: { ...body('registry/lease-renew'), required: false },
          responses: { 200: json('Lease state'), ...errors(400, 401, 403, 404, 503) },
        },
      ],
    );
  }
  return out;
}

/** Rewrites `$ref`s so they point into `#/components/schemas`; collects the schemas they need. */
function rewrite(node, ownerId, byId, needed) {
  if (Array.isArray(node)) return node.map((n) => rewrite(n, ownerId, byId, needed));
  if (node === null || typeof node !== 'object') return node;
  const out = {};
  for (const [k, v] of Object.entries(node)) {
    if (k === '$ref' && typeof v === 'string' && v.startsWith('#/components/')) {
      out[k] = v;
    } else if (k === '$ref' && typeof v === 'string') {
      const [target, fragment = ''] = v.startsWith('#') ? [ownerId, v.slice(1)] : v.split('#');
      if (!target || !byId.has(target)) throw new Error(`unresolvable $ref \`${v}\` in ${ownerId ?? 'the route table'}`);
      needed.add(target);
      out[k] = `#/components/schemas/${componentName(target)}${fragment}`;
    } else if (k === '$id' || k === '$schema') {
      continue;
    } else {
      out[k] = rewrite(v, ownerId, byId, needed);
    }
  }
  return out;
}

/** Builds the document (pure: same schemas in, same bytes out). */
export function buildOpenapi() {
  const byId = loadSchemas();
  const needed = new Set();
  const paths = {};
  for (const [method, path, op] of ROUTES) {
    const { query, ...operation } = op;
    const parameters = [...(operation.parameters ?? [])];
    if (query) {
      const id = `${BASE}${query}.json`;
      const schema = byId.get(id)?.schema;
      if (!schema) throw new Error(`no query schema \`${id}\``);
      const required = new Set(schema.required ?? []);
      for (const [name, prop] of Object.entries(schema.properties ?? {})) {
        parameters.push({
          name,
          in: 'query',
          required: required.has(name),
          ...(prop.description ? { description: prop.description } : {}),
          schema: rewrite(prop, id, byId, needed),
        });
      }
    }
    const opId = `${method}${path
      .replace(/\{([^}]+)\}/g, 'By-$1')
      .split(/[/.-]/)
      .filter(Boolean)
      .map((s) => s[0].toUpperCase() + s.slice(1))
      .join('')}`;
    paths[path] ??= {};
    paths[path][method] = rewrite(
      { operationId: opId, ...operation, ...(parameters.length ? { parameters } : {}) },
      undefined,
      byId,
      needed,
    );
  }
  // Close over transitive references.
  const components = {};
  const queue = [...needed];
  while (queue.length > 0) {
    const id = queue.shift();
    const name = componentName(id);
    if (components[name]) continue;
    const more = new Set();
    const { schema, file } = byId.get(id);
    components[name] = { ...rewrite(schema, id, byId, more), 'x-source': file };
    for (const m of more) if (!components[componentName(m)]) queue.push(m);
  }
  const sorted = Object.fromEntries(Object.entries(components).sort(([a], [b]) => a.localeCompare(b)));
  return {
    openapi: '3.1.0',
    info: {
      title: 'Argus',
      version: JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version,
      summary: 'Agent Runtime Governance: decide, enforce and audit every action an AI agent takes',
      description:
        'One document for every Argus HTTP API. The decision point (apdp) serves decisions, policies, governance, audit queries and approvals; the registry serves `/v1/registry/*` (mounted into the apdp by `argus serve`); every app, the proxy included, serves `/healthz`, `/readyz` and `/metrics`. The proxy forwards the upstream prefixes of its configuration, which are not listed here. Request bodies and query parameters are the JSON Schemas of `schemas/` (each component names its `x-source`). Every error has the shape `Error`.',
      license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
    },
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    servers: [{ url: 'http://127.0.0.1:8181', description: '`argus serve` / apdp default' }],
    tags: [
      { name: 'decisions', description: 'Authorize actions' },
      { name: 'policies', description: 'The Cedar policy set' },
      { name: 'governance', description: 'Delegations, goals, intents' },
      { name: 'audit', description: 'The decision audit trail' },
      { name: 'switches', description: 'Stop an agent, a tool, an MCP server or everything' },
      { name: 'approvals', description: 'Human approval of held decisions' },
      { name: 'registry', description: 'Humans, agents, MCP servers, trust states, leases' },
      { name: 'health', description: 'Liveness, readiness, metrics' },
    ],
    security: [],
    paths,
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'Admin token, an IdP JWT (JWKS), an Argus agent token, or a scanner token' },
      },
      schemas: {
        Error: {
          type: 'object',
          required: ['code', 'message', 'errors'],
          properties: {
            code: { type: 'string', pattern: '^[a-z][a-z0-9_]*$', description: 'Stable snake_case code' },
            message: { type: 'string' },
            errors: {
              type: 'array',
              items: {
                type: 'object',
                required: ['path', 'message'],
                properties: { path: { type: 'string', description: 'JSON Pointer of the offending value' }, message: { type: 'string' } },
              },
            },
          },
        },
        Readiness: {
          type: 'object',
          properties: {
            status: { enum: ['ready', 'not_ready'] },
            checks: {
              type: 'array',
              items: { type: 'object', properties: { name: { type: 'string' }, ok: { type: 'boolean' }, detail: { type: 'string' } } },
            },
          },
        },
        AuthorizeResponse: {
          type: 'object',
          required: ['decision_id', 'result'],
          properties: {
            decision_id: { type: 'string' },
            policy_version: { type: 'string' },
            result: {
              type: 'object',
              required: ['allow', 'decision', 'reasons', 'errors'],
              properties: {
                allow: { type: 'boolean' },
                decision: { enum: ['allow', 'deny', 'needs_approval'] },
                reasons: {
                  type: 'array',
                  items: {
                    type: 'object',
                    properties: {
                      policy: { type: 'string' },
                      effect: { enum: ['permit', 'forbid'] },
                      annotations: { type: 'object', additionalProperties: { type: 'string' } },
                    },
                  },
                },
                errors: { type: 'array', items: { type: 'object' } },
                codes: {
                  type: 'array',
                  items: { type: 'string' },
                  description: 'Hard-deny codes (agent_quarantined, lease_unknown, delegation_revoked, ...): docs/codes.md',
                },
                summary: { type: 'string', description: 'One line saying why, for a deny or a hold' },
                facts: { type: 'object' },
                obligations: { type: 'object' },
                approval: {
                  type: 'object',
                  required: ['id'],
                  properties: { id: { type: 'string' }, expiresAt: { type: 'string' }, status: { enum: ['pending', 'approved'] } },
                },
                observed: {
                  type: 'array',
                  items: {
                    type: 'object',
                    properties: {
                      policy: { type: 'string' },
                      effect: { enum: ['permit', 'forbid'] },
                      annotations: { type: 'object', additionalProperties: { type: 'string' } },
                    },
                  },
                },
                effects: {
                  type: 'array',
                  items: {
                    type: 'object',
                    required: ['policy', 'effect', 'status'],
                    properties: {
                      policy: { type: 'string' },
                      effect: { type: 'string' },
                      status: { enum: ['applied', 'failed', 'skipped'] },
                    },
                  },
                },
                explanation: {
                  type: 'object',
                  description:
                    '`explain: "full"` only: the entity slice, context and request given to Cedar, and the closest permits of a default deny',
                },
              },
            },
          },
        },
        ...sorted,
      },
    },
  };
}

const isMain = process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (isMain) {
  const document = buildOpenapi();
  writeOrCheck(OUT, `${JSON.stringify(document, null, 2)}\n`, 'scripts/gen-openapi.mjs', ` (${Object.keys(document.paths).length} paths)`);
}
