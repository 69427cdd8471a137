/**
 * The OPA Data API, as OPA documents it (https://www.openpolicyagent.org/docs/rest-api), so OPA
 * clients, sidecars and tutorials work unchanged: `GET|POST /v1/data/{path}`, `POST /` (the
 * configured default decision), `GET /health`, with `?pretty`, `?explain=notes|full`, `?metrics`,
 * `?provenance`, OPA's `api_usage_warning` for a body without `input`, and error items with `code`.
 *
 * Documents under `argus`: `argus/allow` (boolean; a hold is `false`), `argus/decision`
 * (`"allow" | "deny" | "needs_approval"`, so an OPA client can tell a hold from a deny),
 * `argus/authorize` (the whole result), `argus` (all three). Anything else is undefined: 200
 * without `result`, as OPA answers.
 */
import type { AuthorizeInput, AuthorizeResponse } from '@argus/contracts';
import { validatorFor } from '@argus/contracts';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ArgusError, InvalidInputError, toErrorBody } from '@argus/platform';
import type { Logger } from 'pino';
import type { DecisionService } from '@argus/decision';
import { auditWanted, callerOf, whatIfWanted } from './authorize.ts';

const validate = validatorFor<{ input: AuthorizeInput }>('https://argus.dev/schemas/data-request.json');

/** The default decision of `POST /` when none is configured (`server.defaultDecision`). */
export const DEFAULT_DECISION_PATH = 'argus/allow';

/** What the Data API routes need: the decision service (as `callerChecked` wraps it). */
export interface DataDeps {
  decisions: DecisionService;
}

/** One Data API request. */
export interface DataRequest {
  method: 'GET' | 'POST';
  /** The document path, decoded, without leading or trailing slashes (`argus/allow`). */
  path: string;
  query: URLSearchParams;
  /** The parsed body (POST); undefined for none. */
  body: unknown;
  /** `POST /`: the body is the input itself (OPA's default decision API). */
  defaultDecision?: boolean;
}

const DOCUMENTS = new Set(['argus', 'argus/allow', 'argus/decision', 'argus/authorize']);
const EXPLAIN_MODES = ['notes', 'fails', 'full', 'debug', 'off'];

/** The OPA warning for a request that carries no `input`. */
export const MISSING_INPUT_WARNING = { code: 'api_usage_warning', message: "'input' key missing from the request" } as const;

/**
 * Answers one Data API request. A refused request throws (an `ArgusError`, a recorded refusal
 * with its `decision_id`): the route table writes it in OPA's shape with {@link sendDataError}.
 */
export async function answerData(deps: DataDeps, request: DataRequest, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const started = process.hrtime.bigint();
  const pretty = flag(request.query, 'pretty');
  const explain = request.query.get('explain') ?? undefined;
  if (explain !== undefined && !EXPLAIN_MODES.includes(explain)) {
    const detail = { path: '/query/explain', message: `expected ${EXPLAIN_MODES.join(', ')}` };
    throw new InvalidInputError(`unknown explain mode \`${explain.slice(0, 40)}\``, [detail]);
  }
  const parseStarted = process.hrtime.bigint();
  const { input, missing } = inputOf(request);
  const parsedAt = process.hrtime.bigint();
  const path = request.path.replace(/^\/+|\/+$/g, '');
  const defined = DOCUMENTS.has(path);
  const out: Record<string, unknown> = {};
  let answer: AuthorizeResponse | undefined;
  const caller = callerOf(req, 'opa');
  const level = explain === 'full' || explain === 'debug' ? 'full' : 'reasons';
  if (defined && input !== undefined) {
    // The same request headers as POST /v1/authorize: a what-if only from those who may ask.
    const whatIf = whatIfWanted(req);
    answer = await deps.decisions.decide(input, { caller, explain: level, audit: auditWanted(req), ...(whatIf ? { whatIf } : {}) });
  } else if (defined) {
    // Nothing to decide on: recorded as a refused request; the documents take their defaults.
    const missingInput = new InvalidInputError(MISSING_INPUT_WARNING.message, [{ path: '/input', message: 'required to decide' }]);
    const refused = await deps.decisions.refuse(undefined, missingInput, { caller });
    out.decision_id = refused.decisionId;
  }
  if (answer) out.decision_id = answer.decision_id;
  const result = defined ? documentOf(path, answer) : undefined;
  if (result !== undefined) out.result = result;
  if (missing) out.warning = MISSING_INPUT_WARNING;
  if (explain && explain !== 'off' && answer) out.explanation = explanationOf(answer, explain);
  if (flag(request.query, 'provenance')) out.provenance = provenanceOf(answer?.policy_version ?? deps.decisions.policyVersion());
  if (flag(request.query, 'metrics') || flag(request.query, 'instrument')) {
    const now = process.hrtime.bigint();
    out.metrics = {
      timer_rego_input_parse_ns: Number(parsedAt - parseStarted),
      timer_rego_query_eval_ns: Number(now - parsedAt),
      timer_server_handler_ns: Number(now - started),
    };
  }
  if (request.defaultDecision) {
    // OPA's default decision answers the document itself, unwrapped.
    if (result === undefined) throw new ArgusError('not_found', `document missing: \`${path}\``);
    send(res, 200, result, pretty);
    return;
  }
  send(res, 200, out, pretty);
}

/** `GET /health` (OPA): 200 `{}` once a policy set is loaded, else 500 with the reason. */
export function answerHealth(deps: DataDeps, query: URLSearchParams, res: ServerResponse): void {
  const version = deps.decisions.policyVersion();
  if (version === 'none') send(res, 500, { error: 'no policy set is loaded' }, flag(query, 'pretty'));
  else send(res, 200, {}, flag(query, 'pretty'));
}

/** The input of a request and whether OPA would warn that it is missing. */
function inputOf(request: DataRequest): { input: AuthorizeInput | undefined; missing: boolean } {
  if (request.method === 'GET') {
    const text = request.query.get('input');
    if (text === null) return { input: undefined, missing: false };
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      const detail = { path: '/query/input', message: String((err as Error).message).slice(0, 200) };
      throw new InvalidInputError('the `input` query parameter is not JSON', [detail]);
    }
    return { input: checked(value, '/query/input'), missing: false };
  }
  if (request.defaultDecision) {
    if (request.body === undefined) {
      throw new InvalidInputError('the default decision needs an input document', [{ path: '', message: 'empty body' }]);
    }
    return { input: checked(request.body, ''), missing: false };
  }
  const body = request.body;
  if (body === undefined) return { input: undefined, missing: true };
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new InvalidInputError('the request body must be a JSON object', [{ path: '', message: 'expected an object with `input`' }]);
  }
  if (!Object.hasOwn(body, 'input')) return { input: undefined, missing: true };
  return { input: checked((body as { input: unknown }).input, '/input'), missing: false };
}

function checked(input: unknown, at: string): AuthorizeInput {
  const v = validate({ input });
  if (!v.ok) {
    const errors = v.errors.map((e) => ({ path: at + e.path.replace(/^\/input/, ''), message: e.message }));
    throw new InvalidInputError('invalid data request', errors);
  }
  return v.value.input;
}

/** The document at `path` for a decision (or for no input: the documents' defaults). */
function documentOf(path: string, answer: AuthorizeResponse | undefined): unknown {
  const allow = answer?.result.allow ?? false;
  const decision = answer?.result.decision ?? 'deny';
  const authorize = answer ? { ...answer.result, policy_version: answer.policy_version } : undefined;
  switch (path) {
    case 'argus/allow':
      return allow;
    case 'argus/decision':
      return decision;
    case 'argus/authorize':
      return authorize;
    default:
      return { allow, decision, ...(authorize ? { authorize } : {}) };
  }
}

/** OPA's `explanation`: `notes` gives one line per reason; `full` adds what Cedar saw and the closest permits. */
function explanationOf(answer: AuthorizeResponse, mode: string): unknown[] {
  const r = answer.result;
  const notes: unknown[] = [
    { op: 'note', message: r.summary ?? (r.allow ? 'allowed' : r.decision) },
    ...r.reasons.map((p) => ({
      op: 'note',
      policy: p.policy,
      effect: p.effect,
      message: p.annotations.reason ?? `${p.effect} \`${p.policy}\``,
    })),
    ...(r.codes ?? []).map((code) => ({ op: 'note', code, message: `hard deny: ${code}` })),
  ];
  if (mode === 'notes' || mode === 'fails') return notes;
  return [...notes, ...(r.explanation ? [{ op: 'eval', ...r.explanation }] : [])];
}

function provenanceOf(revision: string): Record<string, unknown> {
  return { version: process.env.npm_package_version ?? '0.1.0', revision, bundles: { argus: { revision } } };
}

/** `?pretty`, `?pretty=true`, `?metrics=1`...: present and not `false` (or `0`). */
export function flag(query: URLSearchParams, name: string): boolean {
  const v = query.get(name);
  return v !== null && v !== 'false' && v !== '0';
}

function send(res: ServerResponse, status: number, body: unknown, pretty: boolean): void {
  res.statusCode = status;
  res.setHeader('content-type', 'application/json; charset=utf-8');
  res.end(pretty ? `${JSON.stringify(body, null, 2)}\n` : JSON.stringify(body));
}

/**
 * Sends an error in OPA's shape: `errors[]` items carry a `code` (OPA clients such as
 * `@styra/opa` validate it), and a recorded refusal its `decision_id`.
 */
export function sendDataError(res: ServerResponse, err: unknown, pretty = false, log?: Logger): void {
  const { status, body } = toErrorBody(err);
  if (status >= 500) log?.error({ err: err instanceof Error ? err.message : String(err) }, 'data request failed');
  if (res.headersSent) {
    res.end();
    return;
  }
  const items = body.errors.length > 0 ? body.errors : [{ path: '', message: body.message }];
  // OPA's `location` is a file position (`file`, `row`, `col`): a JSON path goes into the message instead.
  const errors = items.map((e) => ({ code: body.code, message: e.path ? `${e.path}: ${e.message}` : e.message }));
  send(res, status, { ...body, errors }, pretty);
}

/**
 * Whether a body of this content type is clearly not JSON (answered 415). OPA reads the body as
 * JSON whatever the declared type (curl's default form type included); only a type that is
 * clearly another format is refused.
 */
export function clearlyNotJson(type: string | undefined): ArgusError | undefined {
  if (type === undefined) return undefined;
  const media = type.split(';')[0]!.trim().toLowerCase();
  const other = new RegExp(
    [
      '^(multipart|image|audio|video|font)/',
      '^application/(xml|[\\w.+-]+\\+xml|x-yaml|yaml|octet-stream|pdf|zip|gzip|x-protobuf|protobuf|cbor|msgpack)$',
      '^text/(xml|html|csv|yaml|x-yaml|calendar)$',
    ].join('|'),
  );
  if (!other.test(media)) return undefined;
  const errors = [{ path: '/headers/content-type', message: 'send the document as JSON' }];
  return new ArgusError('unsupported_media_type', `content type \`${media.slice(0, 100)}\` is not JSON`, { errors });
}
