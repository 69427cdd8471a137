/**
 * The upstream's answer on its way back: refused when it cannot be read (an encoding the scrubber
 * cannot decode, a list or an obligation that cannot be applied to its content type); small JSON
 * buffered — usage read, MCP lists filtered, obligations applied, refused MCP messages merged —
 * everything else streamed, event streams rewritten event by event; always through the scrubber.
 */
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { pipeline, Transform, type Readable } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate, createInflateRaw } from 'node:zlib';
import { errorSummary } from '@argus/platform';
import { sendProblem } from './answers.ts';
import type { CallState } from './call.ts';
import type { ProxyContext } from './context.ts';
import { responseHeaders } from './headers.ts';
import { sseEvents } from './mcp.ts';
import { SseListFilter, filterListAnswers } from './mcp-lists.ts';
import { OBLIGATIONS_HEADER, SseRewriter, applyToAnswer, obligationsHeader, rewritesBody, type ProxyObligations } from './obligations.ts';
import { finish } from './record.ts';
import { errorKind, onProxyError } from './upstream-errors.ts';
import { JsonUsageReader, SseUsageObserver, finalizeUsage, usageFromObject } from './usage.ts';
import { UsageChunkStripper } from './sse-events.ts';

/** What the proxy reads of an upstream answer's head to choose how it goes back. */
interface AnswerHead {
  status: number;
  /** The declared content type (`''` when none). */
  type: string;
  isSse: boolean;
  isJson: boolean;
  /** A model answer (its usage is read). */
  llm: boolean;
  /** The declared length (NaN when none). */
  length: number;
  /** `limits.maxBufferedResponseBytes`. */
  limit: number;
  /** Some messages of an MCP POST were refused: their errors go back with the answer. */
  mergeDenied: boolean;
  /** The obligations that rewrite the body (redact, max_items), if any. */
  obligations: ProxyObligations | undefined;
  bodyless: boolean;
}

/** Streams (or, for small JSON, buffers) the upstream answer back through the scrubber. */
export function onProxyRes(ctx: ProxyContext, proxyRes: IncomingMessage, req: IncomingMessage, res: ServerResponse): void {
  const state = ctx.states.get(req);
  if (!state) {
    proxyRes.destroy();
    res.destroy();
    return;
  }
  const status = proxyRes.statusCode ?? 502;
  state.status = status;
  if (state.inFlight) state.inFlight.upstreamRes = proxyRes;
  ctx.metrics.upstreamLatency.observe(
    { upstream: state.upstream.name, status_class: `${Math.floor(status / 100)}xx` },
    (ctx.now() - (state.forwardedAt ?? state.started)) / 1000,
  );

  // INVARIANT: nothing reaches the agent that the scrubber could not read. An encoding the
  // proxy cannot decode (unknown, or stacked) is refused, never passed through.
  const encoding = contentEncodingOf(proxyRes.headers['content-encoding']);
  if (!encoding.ok) {
    proxyRes.resume();
    ctx.metrics.upstreamErrors.inc({ upstream: state.upstream.name, kind: 'encoding' });
    state
      .lazyLog()
      .warn({ upstream: state.upstream.name, encoding: encoding.value }, 'upstream answered with an unsupported content encoding');
    sendProblem(res, state.dialect, 502, {
      code: 'upstream_error',
      message: `upstream answered with an unsupported content encoding \`${encoding.value}\``,
      errors: [],
    });
    finish(ctx, state, { status, error: 'unsupported_encoding' });
    return;
  }

  trackMcpSession(ctx, state, proxyRes, status);
  const head = answerHead(ctx, state, proxyRes, req, status);
  if (refuseUnrewritable(ctx, state, head, proxyRes, res)) return;
  if (state.obligations && (head.obligations || !state.obligations.logValues))
    res.setHeader(OBLIGATIONS_HEADER, obligationsHeader(state.obligations));

  const decoder = encoding.decoder?.();
  const source: Readable = decoder ? proxyRes.pipe(decoder) : proxyRes;
  if (decoder) proxyRes.on('error', (err) => decoder.destroy(err));

  // Some messages of an MCP POST were refused but the upstream had nothing to say: answer them.
  if (head.mergeDenied && (status === 202 || status === 204)) answerRefusedOnly(ctx, state, proxyRes, res);
  else if (
    !head.isSse &&
    head.isJson &&
    ((Number.isFinite(head.length) && head.length <= head.limit && !decoder) || head.mergeDenied || head.obligations || state.mcp?.lists)
  )
    answerBuffered(ctx, state, head, source, proxyRes, req, res);
  else answerStreamed(ctx, state, head, source, proxyRes, res);
}

/** An MCP session opened by a decided `initialize` is bound to its agent; one a DELETE ended is forgotten. */
function trackMcpSession(ctx: ProxyContext, state: CallState, proxyRes: IncomingMessage, status: number): void {
  const mcp = state.mcp;
  if (mcp?.initialize) {
    const sid = proxyRes.headers['mcp-session-id'];
    if (typeof sid === 'string') ctx.mcpSessions.set(sid, state.agent);
  }
  if (mcp?.endsSession !== undefined && status >= 200 && status < 300) ctx.mcpSessions.delete(mcp.endsSession);
}

function answerHead(ctx: ProxyContext, state: CallState, proxyRes: IncomingMessage, req: IncomingMessage, status: number): AnswerHead {
  const type = String(proxyRes.headers['content-type'] ?? '');
  const length = Number(proxyRes.headers['content-length']);
  const mcp = state.mcp;
  return {
    status,
    type,
    isSse: /^text\/event-stream/i.test(type),
    isJson: /^application\/([\w.+-]+\+)?json/i.test(type),
    llm: state.upstream.kind === 'openai' || state.upstream.kind === 'anthropic',
    length,
    limit: ctx.config.limits.maxBufferedResponseBytes,
    mergeDenied: mcp !== undefined && mcp.denied.length > 0,
    // INVARIANT: with a redact or max_items obligation, an answer goes back rewritten or not at
    // all: JSON is rewritten whole, MCP event streams event by event, anything else is refused.
    obligations: rewritesBody(state.obligations) ? state.obligations : undefined,
    bodyless: status === 204 || status === 304 || req.method === 'HEAD' || length === 0,
  };
}

/**
 * Refuses (502, recorded) an answer whose content type cannot be read to filter its MCP list or
 * apply the obligations. True when refused.
 */
function refuseUnrewritable(
  ctx: ProxyContext,
  state: CallState,
  head: AnswerHead,
  proxyRes: IncomingMessage,
  res: ServerResponse,
): boolean {
  const { status, type, isJson, isSse, bodyless, obligations } = head;
  // INVARIANT: an answer that may hold an MCP list goes back filtered or not at all.
  const lists = state.mcp?.lists;
  if (lists && lists.requests.size > 0 && !bodyless && !isJson && !isSse) {
    proxyRes.resume();
    ctx.metrics.upstreamErrors.inc({ upstream: state.upstream.name, kind: 'list' });
    sendProblem(res, state.dialect, 502, {
      code: 'upstream_error',
      message: `the answer (\`${type.split(';', 1)[0]!.slice(0, 64)}\`) cannot be read to filter its list`,
      errors: [],
    });
    finish(ctx, state, { status, error: 'upstream_error' });
    return true;
  }
  if (obligations && !bodyless && !isJson && !(isSse && state.mcp)) {
    proxyRes.resume();
    ctx.metrics.upstreamErrors.inc({ upstream: state.upstream.name, kind: 'obligation' });
    sendProblem(res, state.dialect, 502, {
      code: 'upstream_error',
      message: `the answer (\`${type.split(';', 1)[0]!.slice(0, 64)}\`) cannot be rewritten to apply the policy's obligations`,
      errors: [],
      codes: ['obligation_unenforceable'],
    });
    finish(ctx, state, { status, error: 'obligation_unenforceable' });
    return true;
  }
  return false;
}

/** The upstream answered 202/204 to the forwarded part of an MCP POST: the refused messages' errors are the answer. */
function answerRefusedOnly(ctx: ProxyContext, state: CallState, proxyRes: IncomingMessage, res: ServerResponse): void {
  const mcp = state.mcp!;
  proxyRes.resume();
  const headers = scrubbedHeaders(ctx, proxyRes);
  delete headers['content-type'];
  res.writeHead(200, { ...headers, 'content-type': 'application/json' });
  res.end(JSON.stringify(mcp.batch ? mcp.denied : mcp.denied[0]));
  finish(ctx, state, { status: state.status, error: undefined });
}

/**
 * A JSON answer read whole: its usage read, its MCP lists filtered, the obligations applied and
 * the refused MCP messages merged in, then scrubbed. JSON that is not, when it had to be
 * rewritten, is a 502 — never passed unredacted.
 */
function answerBuffered(
  ctx: ProxyContext,
  state: CallState,
  head: AnswerHead,
  source: Readable,
  proxyRes: IncomingMessage,
  req: IncomingMessage,
  res: ServerResponse,
): void {
  const { status, llm, limit, mergeDenied, obligations } = head;
  const mcp = state.mcp;
  const lists = mcp?.lists;
  const chunks: Buffer[] = [];
  let size = 0;
  source.on('data', (c: Buffer) => {
    size += c.length;
    if (size > Math.max(limit, 1 << 20) * 4) source.destroy(new Error('response too large to merge'));
    else chunks.push(c);
  });
  source.on('error', (err) => onProxyError(ctx, err, req, res));
  source.on(
    'end',
    () =>
      void (async () => {
        // One chunk (a small answer) needs no copy.
        let body: Buffer = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
        if (llm || mergeDenied || obligations || lists) {
          try {
            let doc: unknown = JSON.parse(body.toString('utf8'));
            if (llm) state.usage = finalizeUsage(usageFromObject(doc));
            if (lists) doc = (await filterListAnswers(doc, lists.requests, lists.ctx)).doc;
            if (obligations) {
              const rewritten = applyToAnswer(doc, obligations);
              doc = rewritten.doc;
              state.applied = rewritten.applied;
            }
            if (mergeDenied && mcp) {
              const merged = [...mcp.denied, ...(Array.isArray(doc) ? doc : [doc])];
              body = Buffer.from(JSON.stringify(mcp.batch ? merged : merged[0]));
            } else if (obligations || lists) {
              body = Buffer.from(JSON.stringify(doc));
            }
          } catch {
            if (obligations || lists) {
              // Declared JSON that is not: it cannot be rewritten (nor its list filtered), so it does not go back.
              ctx.metrics.upstreamErrors.inc({ upstream: state.upstream.name, kind: obligations ? 'obligation' : 'list' });
              const why = obligations ? "the policy's obligations cannot be applied" : 'its list cannot be filtered';
              sendProblem(res, state.dialect, 502, {
                code: 'upstream_error',
                message: `the answer is not valid JSON: ${why}`,
                errors: [],
                ...(obligations ? { codes: ['obligation_unenforceable' as const] } : {}),
              });
              finish(ctx, state, { status, error: obligations ? 'obligation_unenforceable' : 'upstream_error' });
              return;
            }
            // Not JSON after all: forwarded as it is (scrubbed).
          }
        }
        body = ctx.scrubber.scrubBuffer(body);
        const headers = scrubbedHeaders(ctx, proxyRes);
        headers['content-length'] = body.length;
        res.writeHead(status, headers);
        res.end(body);
        finish(ctx, state, { status, error: undefined });
      })().catch((err: unknown) => onProxyError(ctx, err as Error, req, res)),
  );
}

/**
 * Any other answer, streamed: event streams unbuffered (MCP lists filtered and obligations
 * applied event by event, a model stream's usage observed), a model's JSON answer's usage read
 * from a bounded copy; every byte through the scrubber.
 */
function answerStreamed(
  ctx: ProxyContext,
  state: CallState,
  head: AnswerHead,
  source: Readable,
  proxyRes: IncomingMessage,
  res: ServerResponse,
): void {
  const { status, isSse, isJson, llm, limit, mergeDenied, obligations } = head;
  const mcp = state.mcp;
  const lists = mcp?.lists;
  const headers = scrubbedHeaders(ctx, proxyRes);
  if (isSse) {
    headers['x-accel-buffering'] = 'no';
    headers['cache-control'] ??= 'no-cache';
  }
  res.writeHead(status, headers);
  if (isSse) {
    res.flushHeaders();
    if (mergeDenied && mcp) res.write(ctx.scrubber.scrubBuffer(Buffer.from(sseEvents(mcp.denied))));
  }
  const observer = llm && isSse ? new SseUsageObserver() : undefined;
  const jsonTail: Buffer[] = [];
  let jsonSize = 0;
  /** Past the buffer limit, the JSON answer's usage is read as it goes by. */
  let large: JsonUsageReader | undefined;
  if (observer) {
    source.on('data', (c: Buffer) => observer.push(c));
    state.usageSoFar = () => observer.cutUsage(state.body?.length ?? 0);
  } else if (llm && isJson) {
    source.on('data', (c: Buffer) => {
      jsonSize += c.length;
      if (jsonSize <= limit) {
        jsonTail.push(c);
        return;
      }
      if (!large) {
        large = new JsonUsageReader();
        for (const held of jsonTail) large.push(held);
        jsonTail.length = 0;
      }
      large.push(c);
    });
  }
  const scrub: Transform = ctx.scrubber.stream();
  // A shutdown cutting this stream stops the upstream's bytes before it writes the final event.
  if (isSse && state.inFlight) state.inFlight.cut = () => scrub.unpipe(res);
  const rewriter = obligations && isSse ? new SseRewriter(obligations, Math.max(limit, 1 << 20) * 4) : undefined;
  const done = (err: Error | null) => {
    if (rewriter) state.applied = rewriter.total;
    if (observer) state.usage = err ? observer.cutUsage(state.body?.length ?? 0) : observer.usage();
    else if (large) state.usage = large.usage();
    else if (llm && isJson && jsonSize <= limit && jsonSize > 0) {
      try {
        state.usage = finalizeUsage(usageFromObject(JSON.parse(Buffer.concat(jsonTail).toString('utf8'))));
      } catch {
        // Not JSON: no usage.
      }
    }
    if (err) {
      const kind = errorKind(err);
      if (kind !== 'client_closed') ctx.metrics.upstreamErrors.inc({ upstream: state.upstream.name, kind });
      if (kind === 'encoding')
        state.lazyLog().warn({ upstream: state.upstream.name, err: errorSummary(err) }, 'upstream answer could not be decoded; stream cut');
      finish(ctx, state, { status, error: kind });
    } else {
      finish(ctx, state, { status, error: undefined });
    }
  };
  const listed = lists && isSse ? new SseListFilter(lists.requests, lists.ctx, Math.max(limit, 1 << 20) * 4) : undefined;
  const stripper = state.stripUsageChunk && isSse ? new UsageChunkStripper(Math.max(limit, 1 << 20) * 4) : undefined;
  const stages: Transform[] = [...(listed ? [listed] : []), ...(rewriter ? [rewriter] : []), ...(stripper ? [stripper] : [])];
  pipeline([source, ...stages, scrub, res], done);
}

/** The upstream's response headers an agent may see, scrubbed, without the length (the body is re-framed). */
function scrubbedHeaders(ctx: ProxyContext, proxyRes: IncomingMessage): OutgoingHttpHeaders {
  return ctx.scrubber.scrubHeaders(responseHeaders(proxyRes.headers, { dropLength: true }));
}

/** The content encodings the scrubber can read through: one of these, or none. */
const DECODERS: Record<string, () => Transform> = {
  gzip: createGunzip,
  'x-gzip': createGunzip,
  deflate: createDeflateDecoder,
  br: createBrotliDecompress,
};

/**
 * `deflate` as browsers and curl read it: the zlib format (RFC 1950) the standard names, or raw
 * deflate data (RFC 1951), which some servers send under the same name. Told apart by the first two
 * bytes: a zlib header names method 8 and is a multiple of 31.
 */
export function createDeflateDecoder(): Transform {
  let inner: Transform | undefined;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      if (!inner) {
        const zlib = (chunk[0]! & 0x0f) === 8 && (chunk.length < 2 || ((chunk[0]! << 8) | chunk[1]!) % 31 === 0);
        inner = zlib ? createInflate() : createInflateRaw();
        inner.on('data', (data: Buffer) => this.push(data));
        inner.on('error', (err) => this.destroy(err));
      }
      inner.write(chunk, () => callback());
    },
    flush(callback) {
      if (!inner) return callback();
      inner.once('end', () => callback());
      inner.end();
    },
  });
}

/**
 * The decoder for a response's `Content-Encoding`: none for no encoding (or `identity`), one for
 * gzip, deflate or br; anything else (unknown, or several stacked) is not ok.
 */
function contentEncodingOf(header: string | string[] | undefined): { ok: true; decoder?: () => Transform } | { ok: false; value: string } {
  const raw = (Array.isArray(header) ? header.join(',') : String(header ?? '')).trim().toLowerCase();
  if (raw === '' || raw === 'identity') return { ok: true };
  const decoder = DECODERS[raw];
  return decoder ? { ok: true, decoder } : { ok: false, value: raw.replace(/[^\w ,.+-]/g, '').slice(0, 64) };
}
