import { StringDecoder } from 'node:string_decoder';
import { Transform, type TransformCallback } from 'node:stream';
import { LRUCache } from 'lru-cache';
import type { AuthorizeInput, AuthorizeResponse, DecideOptions, DecisionPoint } from '@argus/contracts';
import { toolHash, type McpToolInput, type ToolDiff, type TrustState } from '@argus/store';
import { decideWithin, isAllowed } from './decision.ts';
import { JSON_RPC, describeMcpMessage, rpcError, type JsonRpcMessage } from './mcp.ts';
import type { CallDescription } from './route-mapping.ts';

/**
 * The MCP tool catalogue the proxy compares live lists with: the registry. `server` reads the
 * record as it is now (no cache: a cached record could let a changed tool through);
 * `liveToolsChanged` records a live list that differs (the registry's rug-pull check: the diff in
 * the trust history, a trusted server demoted to `pending`) and answers the server's new trust.
 */
export interface McpToolCatalogue {
  server(id: string): Promise<{ trust: TrustState; tools: ReadonlyArray<{ name: string; hash: string }> } | undefined>;
  /** `complete: false` for one page of a paged list (it cannot say which tools were removed). */
  liveToolsChanged(id: string, tools: McpToolInput[], complete: boolean): Promise<{ trust: TrustState; diff: ToolDiff } | undefined>;
}

/** The array a list result carries its items in. */
export type ListKind = 'tools' | 'resources' | 'resourceTemplates' | 'prompts';

/** The listing methods the proxy filters, and the array of their result. */
export const LIST_METHODS: Readonly<Record<string, ListKind>> = {
  'tools/list': 'tools',
  'resources/list': 'resources',
  'resources/templates/list': 'resourceTemplates',
  'prompts/list': 'prompts',
};

/** One list request forwarded: what it lists and whether it asked for a later page. */
export interface ListRequest {
  kind: ListKind;
  paged: boolean;
}

/** The requests of a forwarded MCP POST by JSON-RPC id: what each lists, or `null` for a request that lists nothing. */
export type ListRequests = ReadonlyMap<string | number, ListRequest | null>;

/**
 * The requests among forwarded messages when at least one is a list request (empty otherwise: the
 * answer then needs no filtering): the others are kept as `null`, so that their answers are never
 * taken for lists by their shape.
 */
export function listRequestsOf(messages: readonly JsonRpcMessage[]): ListRequests {
  const out = new Map<string | number, ListRequest | null>();
  let lists = 0;
  for (const m of messages) {
    if (m.method === undefined || m.id === undefined || m.id === null) continue;
    const kind = LIST_METHODS[m.method];
    const params = (m.params && typeof m.params === 'object' ? m.params : {}) as Record<string, unknown>;
    out.set(m.id, kind === undefined ? null : { kind, paged: params.cursor !== undefined });
    if (kind !== undefined) lists++;
  }
  return lists > 0 ? out : new Map();
}

/**
 * The list a JSON-RPC answer carries, if any: by the id of the request it answers, or, for an id
 * the proxy did not forward, by shape (a result with a top-level `tools`, `resources`,
 * `resourceTemplates` or `prompts` array), so that a list answered where the proxy did not expect
 * one (the session's GET stream) is filtered too.
 */
export function listOf(m: unknown, requests: ListRequests): ListRequest | undefined {
  if (!m || typeof m !== 'object' || Array.isArray(m)) return undefined;
  const { id, result, method } = m as JsonRpcMessage;
  if (method !== undefined || result === undefined) return undefined;
  if ((typeof id === 'string' || typeof id === 'number') && requests.has(id)) return requests.get(id) ?? undefined;
  if (!result || typeof result !== 'object' || Array.isArray(result)) return undefined;
  const kind = (['tools', 'resources', 'resourceTemplates', 'prompts'] as const).find((k) =>
    Array.isArray((result as Record<string, unknown>)[k]),
  );
  return kind ? { kind, paged: true } : undefined;
}

/** A tool as the registry hashes it, from a live list item (the same reading as discovery's). */
export function liveTool(item: Record<string, unknown>): McpToolInput {
  return {
    name: String(item.name),
    description: typeof item.description === 'string' ? item.description : '',
    inputSchema:
      item.inputSchema && typeof item.inputSchema === 'object' && !Array.isArray(item.inputSchema)
        ? (item.inputSchema as Record<string, unknown>)
        : { type: 'object' },
  };
}

/** How one list item would be called: what the proxy decides it as when the agent uses it. */
export function itemCall(server: string, kind: ListKind, item: unknown): CallDescription | undefined {
  if (!item || typeof item !== 'object' || Array.isArray(item)) return undefined;
  const i = item as Record<string, unknown>;
  const m: JsonRpcMessage =
    kind === 'tools'
      ? { jsonrpc: '2.0', id: 0, method: 'tools/call', params: { name: i.name, arguments: {} } }
      : kind === 'prompts'
        ? { jsonrpc: '2.0', id: 0, method: 'prompts/get', params: { name: i.name } }
        : { jsonrpc: '2.0', id: 0, method: 'resources/read', params: { uri: kind === 'resources' ? i.uri : i.uriTemplate } };
  const view = describeMcpMessage(server, m);
  return 'action' in view ? view : undefined;
}

/**
 * Tools this proxy saw change on a server and refuses on `tools/call` until a list shows them
 * re-approved (the registry holds their live hash and the server is trusted again): the refusal
 * does not depend on the policies forbidding calls to a pending server. Bounded; per process.
 */
export class ChangedTools {
  /** Server → changed tool names; the least recently marked server goes first past the bound. */
  private readonly byServer: LRUCache<string, Set<string>>;

  constructor(maxServers = 1000) {
    this.byServer = new LRUCache({ max: maxServers });
  }

  /** Marks `names` of `server` as changed. */
  add(server: string, names: readonly string[]): void {
    if (names.length === 0) return;
    const set = this.byServer.get(server) ?? new Set<string>();
    for (const n of names) set.add(n);
    this.byServer.set(server, set);
  }

  /** Clears `names` of `server` (seen approved). */
  approve(server: string, names: readonly string[]): void {
    const set = this.byServer.peek(server);
    if (!set) return;
    for (const n of names) set.delete(n);
    if (set.size === 0) this.byServer.delete(server);
  }

  /** True when `tool` of `server` changed and was not seen approved since. */
  has(server: string, tool: string): boolean {
    return this.byServer.peek(server)?.has(tool) ?? false;
  }
}

/** What filtering one list needs. */
export interface ListFilterContext {
  server: string;
  /** The decision input of a described call, with the list request's facts (intent, goal, delegation). */
  inputFor(call: CallDescription): AuthorizeInput;
  /** Decides inputs as what-ifs, one answer per input (one round trip where the decision point batches). */
  decideWhatIf(inputs: readonly AuthorizeInput[]): Promise<AuthorizeResponse[]>;
  catalogue?: McpToolCatalogue;
  changed: ChangedTools;
  /** Hears each tool refused as changed or unknown to the registry (the proxy records the refusal). */
  onChanged(input: AuthorizeInput, code: 'mcp_tool_changed' | 'mcp_tool_unregistered'): void;
  /** Hears a list refused whole (it could not be decided or checked). */
  onRefused?(list: ListRequest, err: unknown): void;
  /** Hears a changed tool list the registry recorded (the server's trust now, and the diff). */
  onDrift?(drift: { trust: TrustState; diff: ToolDiff }): void;
}

/** What filtering did to one list. */
export interface ListFiltered {
  kind: ListKind;
  listed: number;
  kept: number;
  /** Tools whose hash differs from the registry's (or that it does not know). */
  changed: string[];
  /** The registry's answer to a drift report. */
  drift?: { trust: TrustState; diff: ToolDiff };
}

/** A list that cannot be filtered safely: it is refused, never passed unfiltered. */
export class ListUnfilterableError extends Error {
  constructor(
    message: string,
    /** `upstream_error`: the answer is not a list the proxy can read; `unavailable`: the registry could not record a drift. */
    readonly code: 'upstream_error' | 'unavailable' = 'upstream_error',
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/**
 * Filters one list result to what the agent may use: each item is decided as the call that would
 * use it (a what-if: no side effect, no record), and kept on an allow or a `needs_approval` (it can
 * be used once approved). For tools, the live hashes are compared with the registry's first: a
 * tool the registry does not know, or whose description or input schema changed, is removed and
 * refused on `tools/call` from then on, and the live list is reported to the registry (a trusted
 * server goes to `pending`, the diff in its history). Throws {@link ListUnfilterableError} when
 * the result has no item array or the drift cannot be recorded: the caller refuses the list.
 */
export async function filterList(
  result: unknown,
  list: ListRequest,
  ctx: ListFilterContext,
): Promise<{ result: Record<string, unknown>; filtered: ListFiltered }> {
  if (!result || typeof result !== 'object' || Array.isArray(result)) throw new ListUnfilterableError('a list result must be an object');
  const doc = result as Record<string, unknown>;
  const items = doc[list.kind];
  if (!Array.isArray(items)) throw new ListUnfilterableError(`a ${list.kind} list result must hold a \`${list.kind}\` array`);
  const calls = items.map((item) => itemCall(ctx.server, list.kind, item));
  const decidable = calls.flatMap((call, i) => (call ? [{ i, call }] : []));
  const inputs = decidable.map(({ call }) => ctx.inputFor(call));
  const [answers, registry] = await Promise.all([
    ctx.decideWhatIf(inputs),
    list.kind === 'tools' && ctx.catalogue ? ctx.catalogue.server(ctx.server) : Promise.resolve(undefined),
  ]);
  const usable = new Set<number>();
  decidable.forEach(({ i }, n) => {
    const answer = answers[n]!;
    if (isAllowed(answer) || answer.result.decision === 'needs_approval') usable.add(i);
  });
  const filtered: ListFiltered = { kind: list.kind, listed: items.length, kept: 0, changed: [] };
  if (list.kind === 'tools')
    await compareTools(items, calls, usable, registry, list.paged || typeof doc.nextCursor === 'string', ctx, filtered);
  const kept = items.filter((_, i) => usable.has(i));
  filtered.kept = kept.length;
  return { result: { ...doc, [list.kind]: kept }, filtered };
}

/** The rug-pull check of a tools list (see {@link filterList}); removes changed tools from `usable`. */
async function compareTools(
  items: readonly unknown[],
  calls: ReadonlyArray<CallDescription | undefined>,
  usable: Set<number>,
  registry: Awaited<ReturnType<McpToolCatalogue['server']>>,
  paged: boolean,
  ctx: ListFilterContext,
  filtered: ListFiltered,
): Promise<void> {
  const known = new Map((registry?.tools ?? []).map((t) => [t.name, t.hash]));
  const live: McpToolInput[] = [];
  const drifted: string[] = [];
  items.forEach((item, i) => {
    const call = calls[i];
    if (!call) return;
    const tool = liveTool(item as Record<string, unknown>);
    live.push(tool);
    const hash = toolHash(tool);
    const mismatch = registry !== undefined && known.get(tool.name) !== hash;
    if (mismatch) drifted.push(tool.name);
    // INVARIANT: a tool marked changed is cleared only by a list in which the registry holds its
    // live hash and the server is trusted again (an admin re-approved it).
    if (!mismatch && registry?.trust === 'trusted') ctx.changed.approve(ctx.server, [tool.name]);
    if (mismatch || ctx.changed.has(ctx.server, tool.name)) {
      filtered.changed.push(tool.name);
      usable.delete(i);
      ctx.onChanged(ctx.inputFor(call), registry !== undefined && !known.has(tool.name) ? 'mcp_tool_unregistered' : 'mcp_tool_changed');
    }
  });
  if (!registry) return;
  const names = new Set(live.map((t) => t.name));
  const removed = !paged && [...known.keys()].some((n) => !names.has(n));
  if (drifted.length === 0 && !removed) return;
  ctx.changed.add(ctx.server, drifted);
  try {
    const drift = await ctx.catalogue!.liveToolsChanged(ctx.server, live, !paged);
    if (drift) {
      filtered.drift = drift;
      ctx.onDrift?.(drift);
    }
  } catch (err) {
    throw new ListUnfilterableError('the changed tool list could not be recorded in the registry', 'unavailable', { cause: err });
  }
}

/** Decides `inputs` as what-ifs: in one batch round trip when the decision point has one, else each on its own (in-process). */
export async function decideWhatIfs(
  point: DecisionPoint & { decideBatch?: (inputs: readonly AuthorizeInput[], options: DecideOptions) => Promise<AuthorizeResponse[]> },
  inputs: readonly AuthorizeInput[],
  options: DecideOptions,
  timeoutMs: number,
  maxBatch = 100,
): Promise<AuthorizeResponse[]> {
  const whatIf: DecideOptions = { ...options, whatIf: true, audit: false };
  if (inputs.length === 0) return [];
  if (point.decideBatch) {
    const chunks: AuthorizeInput[][] = [];
    for (let i = 0; i < inputs.length; i += maxBatch) chunks.push(inputs.slice(i, i + maxBatch));
    return (await Promise.all(chunks.map((c) => point.decideBatch!(c, whatIf)))).flat();
  }
  return Promise.all(inputs.map((input) => decideWithin(point, input, whatIf, timeoutMs)));
}

/**
 * Filters every list answer in a parsed MCP response body (one message or a batch); a list that
 * cannot be decided or checked is replaced by a JSON-RPC error for its id (refused, never passed
 * unfiltered). Answers `doc` itself when it holds no list.
 */
export async function filterListAnswers(
  doc: unknown,
  requests: ListRequests,
  ctx: ListFilterContext,
): Promise<{ doc: unknown; filtered: ListFiltered[] }> {
  const filtered: ListFiltered[] = [];
  let touched = false;
  const one = async (m: unknown): Promise<unknown> => {
    const list = listOf(m, requests);
    if (!list) return m;
    touched = true;
    const message = m as JsonRpcMessage;
    try {
      const out = await filterList(message.result, list, ctx);
      filtered.push(out.filtered);
      return { ...message, result: out.result };
    } catch (err) {
      // Fail closed: a list that could not be decided or checked does not go back.
      const why = err instanceof ListUnfilterableError ? err.message : 'no decision could be made for its items';
      const code = err instanceof ListUnfilterableError ? err.code : 'decision_unavailable';
      ctx.onRefused?.(list, err);
      return rpcError(message.id ?? null, JSON_RPC.unavailable, `the ${list.kind} list was refused: ${why}`, { code, codes: [code] });
    }
  };
  const out = Array.isArray(doc) ? await Promise.all(doc.map(one)) : await one(doc);
  return { doc: touched ? out : doc, filtered };
}

/**
 * Filters the list answers of an MCP event stream (streamable HTTP) event by event with
 * {@link filterListAnswers}; other events pass as they came. An event whose data is not JSON
 * cannot be checked: the stream fails (the caller cuts it) rather than pass a list unfiltered.
 * Events are bounded by `maxEventBytes`.
 */
export class SseListFilter extends Transform {
  private buffer = '';
  /** Characters split across chunks are joined before the text is read (a chunk may end mid-character). */
  private readonly decoder = new StringDecoder('utf8');
  readonly filtered: ListFiltered[] = [];

  constructor(
    private readonly requests: ListRequests,
    private readonly ctx: ListFilterContext,
    private readonly maxEventBytes: number,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.buffer += this.decoder.write(chunk);
    this.drain(false).then(
      () => done(),
      (err: unknown) => done(err as Error),
    );
  }

  override _flush(done: TransformCallback): void {
    this.buffer += this.decoder.end();
    this.drain(true).then(
      () => done(),
      (err: unknown) => done(err as Error),
    );
  }

  private async drain(end: boolean): Promise<void> {
    for (;;) {
      const m = /\r?\n\r?\n/.exec(this.buffer);
      if (!m) break;
      const raw = this.buffer.slice(0, m.index);
      this.buffer = this.buffer.slice(m.index + m[0].length);
      this.push(await this.event(raw));
    }
    if (end && this.buffer.trim() !== '') {
      const raw = this.buffer;
      this.buffer = '';
      this.push(await this.event(raw));
    }
    if (this.buffer.length > this.maxEventBytes) throw new ListUnfilterableError('event too large to filter');
  }

  private async event(raw: string): Promise<string> {
    const lines = raw.split(/\r?\n/);
    const data = lines.filter((l) => l.startsWith('data:')).map((l) => l.slice(l.startsWith('data: ') ? 6 : 5));
    if (data.length === 0) return `${raw}\n\n`;
    let doc: unknown;
    try {
      doc = JSON.parse(data.join('\n'));
    } catch {
      throw new ListUnfilterableError('a stream event is not JSON: it cannot be checked for lists');
    }
    const out = await filterListAnswers(doc, this.requests, this.ctx);
    if (out.filtered.length === 0 && out.doc === doc) return `${raw}\n\n`;
    this.filtered.push(...out.filtered);
    const other = lines.filter((l) => !l.startsWith('data:') && l !== '');
    return `${[...other, `data: ${JSON.stringify(out.doc)}`].join('\n')}\n\n`;
  }
}
