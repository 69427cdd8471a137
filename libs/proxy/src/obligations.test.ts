import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { AuthorizeResponse } from '@argus/contracts';
import { hashTools } from '@argus/store';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REDACTED, SseRewriter, applyToAnswer, applyToDocument, obligationsOf } from './obligations.ts';
import { eventually, startProxy, type RunningProxy } from './testing/harness.ts';
import { CANARIES } from './testing/policies.ts';
import { seedTrustedBot, starterDecisionPoint, type StarterDecisionPoint } from './testing/starter-decision-point.ts';
import { PATIENT, mcpUpstream, openAiUpstream, type TestUpstream } from './testing/upstreams.ts';

const answer = (obligations: Record<string, unknown>): AuthorizeResponse => ({
  decision_id: 'd',
  policy_version: 'v',
  result: { allow: true, decision: 'allow', reasons: [], errors: [], obligations },
});

describe('obligations: merging and applying', () => {
  it('merges to the strictest: redact is the union, max_items the minimum, log_values the AND', () => {
    const o = obligationsOf([
      answer({ redact: ['ssn'], max_items: 5, log_values: true }),
      answer({ redact: ['email', 'ssn'], max_items: 2 }),
      answer({ log_values: false, x_ticket: ['T-1'] }),
    ]);
    expect(o).toEqual({ redact: ['email', 'ssn'], maxItems: 2, logValues: false, unknown: [] });
    // An older engine kept every value as a string list; `false` still wins.
    expect(obligationsOf([answer({ log_values: ['false', 'true'] })]).logValues).toBe(false);
    // What the proxy cannot apply is named, so the call is refused rather than passed.
    expect(obligationsOf([answer({ watermark: ['yes'] })]).unknown).toEqual(['watermark']);
  });

  it('redacts field names at any depth, paths (pointer or dotted, `*` for any key) as suffixes, inside JSON strings too', () => {
    const doc = {
      a: { ssn: 1, b: [{ SSN: 2 }, { deep: { ssn: 3 } }] },
      patient: { dob: 'x', contact: { email: 'e', phone: 'p' } },
      other: { dob: 'keep' },
      args: JSON.stringify({ ssn: 'in-string', ok: 1 }),
    };
    const { doc: out, applied } = applyToDocument(doc, { redact: ['ssn', '/patient/dob', 'contact.*'], logValues: true, unknown: [] });
    expect(out).toEqual({
      a: { ssn: REDACTED, b: [{ SSN: REDACTED }, { deep: { ssn: REDACTED } }] },
      patient: { dob: REDACTED, contact: { email: REDACTED, phone: REDACTED } },
      other: { dob: 'keep' },
      args: JSON.stringify({ ssn: REDACTED, ok: 1 }),
    });
    expect(applied.redacted).toBe(7);
    expect(doc.a.ssn).toBe(1);
  });

  it('a pointer naming an array index matches that item only; one without indices skips them', () => {
    const doc = {
      choices: [{ message: { name: 'a', content: 'x' } }, { message: { name: 'b', content: 'y' } }],
      patient: [{ dob: 1 }, { dob: 2 }],
    };
    const { doc: out, applied } = applyToDocument(doc, {
      redact: ['/choices/1/message/content', '/patient/dob'],
      logValues: true,
      unknown: [],
    });
    expect(out).toEqual({
      choices: [{ message: { name: 'a', content: 'x' } }, { message: { name: 'b', content: REDACTED } }],
      patient: [{ dob: REDACTED }, { dob: REDACTED }],
    });
    expect(applied.redacted).toBe(3);
  });

  it('truncates every array past max_items and says where, leaving an untouched JSON string byte for byte', () => {
    const untouched = '{ "spaced" :  [1] }';
    const { doc, applied } = applyToAnswer(
      { list: [1, 2, 3, 4], nested: { more: [[1, 2, 3], 5, 6] }, s: untouched },
      { redact: [], maxItems: 2, logValues: true, unknown: [] },
    );
    expect(doc).toEqual({
      list: [1, 2],
      nested: { more: [[1, 2], 5] },
      s: untouched,
      argus_obligations: {
        redacted: 0,
        truncated: [
          { path: '/list', items: 4, kept: 2 },
          { path: '/nested/more', items: 3, kept: 2 },
          { path: '/nested/more/0', items: 3, kept: 2 },
        ],
      },
    });
    expect(applied.truncated).toHaveLength(3);
  });

  it('marks a JSON-RPC result in its _meta, message by message in a batch', () => {
    const { doc } = applyToAnswer(
      [
        { jsonrpc: '2.0', id: 1, result: { items: [1, 2, 3] } },
        { jsonrpc: '2.0', id: 2, error: { code: 1, message: 'x' } },
      ],
      { redact: [], maxItems: 1, logValues: true, unknown: [] },
    );
    expect(doc).toEqual([
      {
        jsonrpc: '2.0',
        id: 1,
        result: { items: [1], _meta: { 'argus/obligations': { redacted: 0, truncated: [{ path: '/result/items', items: 3, kept: 1 }] } } },
      },
      { jsonrpc: '2.0', id: 2, error: { code: 1, message: 'x' } },
    ]);
  });

  it('rewrites an event stream event by event across chunk boundaries, and fails on an event it cannot read', async () => {
    const o = { redact: ['ssn'], logValues: true, unknown: [] };
    const rw = new SseRewriter(o, 1 << 16);
    const out: string[] = [];
    rw.on('data', (c: Buffer) => out.push(c.toString()));
    const text = `event: message\ndata: ${JSON.stringify({ jsonrpc: '2.0', id: 1, result: { ssn: 'x' } })}\n\nid: 2\ndata: ${JSON.stringify({ ssn: 'y' })}\n\n`;
    for (let i = 0; i < text.length; i += 7) rw.write(Buffer.from(text.slice(i, i + 7)));
    rw.end();
    await new Promise((r) => rw.on('end', r));
    expect(out.join('')).not.toMatch(/"ssn":"[xy]"/);
    expect(out.join('')).toContain('event: message\ndata: {"jsonrpc":"2.0","id":1,"result":{"ssn":"[REDACTED]"');
    const bad = new SseRewriter(o, 1 << 16);
    const failed = new Promise<Error>((r) => bad.on('error', r));
    bad.write(Buffer.from('data: not json with ssn 078-05-1120\n\n'));
    expect((await failed).message).toMatch(/cannot be rewritten safely/);
  });

  it('keeps a character whose bytes are split across chunks whole', async () => {
    const rw = new SseRewriter({ redact: ['ssn'], logValues: true, unknown: [] }, 1 << 16);
    const out: Buffer[] = [];
    rw.on('data', (c: Buffer) => out.push(c));
    const bytes = Buffer.from(`data: ${JSON.stringify({ note: 'Zoë señor 日本 😀', ssn: 'z' })}\n\n`, 'utf8');
    // One byte at a time: every multi-byte character is cut at least once.
    for (let i = 0; i < bytes.length; i++) rw.write(bytes.subarray(i, i + 1));
    rw.end();
    await new Promise((r) => rw.on('end', r));
    expect(Buffer.concat(out).toString('utf8')).toBe(
      `data: ${JSON.stringify({ note: 'Zoë señor 日本 😀', ssn: REDACTED, argus_obligations: { redacted: 1, truncated: [] } })}\n\n`,
    );
  });
});

// End to end: the shipped starter policies decide (the trusted agent may invoke models and fetch
// prompts), plus two permits that carry obligations, merged by the real decision service.
const TOKEN = 'argus_obligations_bot_3c4d5e6f';
let starter: StarterDecisionPoint;
let openai: TestUpstream;
let mcp: TestUpstream & { invoked: string[] };
let proxy: RunningProxy;
let plain: Server;

beforeAll(async () => {
  openai = await openAiUpstream();
  mcp = await mcpUpstream();
  starter = await starterDecisionPoint({
    'records-redacted': [
      '@id("records-redacted")',
      '@reason("patient records leave without identifiers")',
      '@obligation_redact("ssn,/patient/dob")',
      '@obligation_max_items("3")',
      '@obligation_log_values("false")',
      'permit (principal is Argus::Agent, action == Argus::Action::"llm:invoke", resource == Argus::Model::"gpt-records") when { principal.trust == "trusted" };',
    ].join('\n'),
    'plain-redacted':
      '@id("plain-redacted")\n@obligation_redact("ssn")\npermit (principal is Argus::Agent, action == Argus::Action::"http:request", resource == Argus::Api::"plain") when { principal.trust == "trusted" };',
    'records-short': [
      '@id("records-short")',
      '@obligation_redact("email,ssn")',
      '@obligation_max_items("2")',
      'permit (principal is Argus::Agent, action in [Argus::Action::"llm:invoke", Argus::Action::"prompt:get"], resource) when { principal.trust == "trusted" && (resource is Argus::Prompt || resource == Argus::Model::"gpt-records") };',
    ].join('\n'),
  });
  const r = starter.storage.registry;
  await seedTrustedBot(starter);
  await r.createMcpServer({ id: 'tools', name: 'tools', url: `${mcp.url}/mcp`, trust: 'trusted', tools: hashTools([]) }, 'test');
  plain = createServer((req, res) => {
    const sse = req.url === '/events';
    res.writeHead(200, { 'content-type': sse ? 'text/event-stream' : 'text/plain' });
    res.end(sse ? `data: ${JSON.stringify(PATIENT)}\n\n` : `ssn ${PATIENT.patient.ssn}`);
  });
  await new Promise<void>((r) => plain.listen(0, '127.0.0.1', r));
  proxy = await startProxy({
    decisionPoint: starter.decisionPoint,
    secrets: { 'openai-key': CANARIES.openai, 'mcp-key': CANARIES.mcp },
    tokens: { bot: TOKEN },
    config: {
      decision: { timeoutMs: 2000 },
      upstreams: [
        { name: 'openai', kind: 'openai', prefix: '/openai', target: openai.url, credential: { name: 'openai-key' } },
        { name: 'tools', kind: 'mcp', prefix: '/mcp/tools', target: `${mcp.url}/mcp`, credential: { name: 'mcp-key' } },
        { name: 'plain', kind: 'http', prefix: '/plain', target: `http://127.0.0.1:${(plain.address() as AddressInfo).port}` },
      ],
    },
  });
});

afterAll(async () => {
  await proxy?.close();
  await openai?.close();
  await mcp?.close();
  await starter?.close();
  await new Promise((r) => plain?.close(r));
});

const gpt = () => new OpenAI({ apiKey: TOKEN, baseURL: `${proxy.url}/openai/v1`, maxRetries: 0, timeout: 5000 });

describe('obligations applied end to end (starter policies, official clients)', () => {
  it('an OpenAI tool-call response: SSN and the dotted path redacted inside the arguments, arrays cut to the smallest max_items, marked', async () => {
    const { data: completion, response } = await gpt()
      .chat.completions.create({ model: 'gpt-records', messages: [{ role: 'user', content: 'file it' }] })
      .withResponse();
    const call = completion.choices[0]!.message.tool_calls![0]! as { function: { arguments: string } };
    const args = JSON.parse(call.function.arguments) as typeof PATIENT;
    expect(args.patient).toEqual({ name: 'Ann Example', ssn: REDACTED, dob: REDACTED, contact: { email: REDACTED, phone: '555-0100' } });
    expect(args.visits).toEqual([{ day: 1, ssn: REDACTED }, { day: 2 }]);
    expect(JSON.stringify(completion)).not.toContain(PATIENT.patient.ssn);
    expect((completion as unknown as { argus_obligations: unknown }).argus_obligations).toMatchObject({
      redacted: 4,
      truncated: [{ path: '/choices/0/message/tool_calls/0/function/arguments#/visits', items: 5, kept: 2 }],
    });
    expect(response.headers.get('x-argus-obligations')).toBe('redact, max_items=2, log_values=false');
    // log_values false: the record keeps the names of the facts, not their values.
    await eventually(() => proxy.events.some((e) => e.input.resource.id === 'gpt-records' && e.proxy?.status === 200));
    const record = proxy.events.find((e) => e.input.resource.id === 'gpt-records')!;
    expect(record.result.obligations).toMatchObject({
      redact: expect.arrayContaining(['ssn', '/patient/dob', 'email']),
      max_items: 2,
      log_values: false,
    });
    expect(Object.values(record.input.context ?? {}).every((v) => v === '[withheld]')).toBe(true);
    expect(Object.keys(record.input.context ?? {})).toContain('operation');
  });

  it('refuses a streamed completion the obligations would have to rewrite, before the upstream sees it', async () => {
    const before = openai.seen.length;
    const err = await gpt()
      .chat.completions.create({ model: 'gpt-records', stream: true, messages: [{ role: 'user', content: 'x' }] })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.PermissionDeniedError);
    expect((err as Error).message).toMatch(/streamed answer cannot be redacted.*\(decision [0-9a-f-]{36}\)/);
    expect((err as InstanceType<typeof OpenAI.APIError>).error).toMatchObject({ codes: ['obligation_unenforceable'] });
    expect(openai.seen.length).toBe(before);
    const id = /\(decision ([0-9a-f-]{36})\)/.exec((err as Error).message)![1]!;
    await eventually(() => proxy.events.some((e) => e.decisionId === id));
    expect(proxy.events.find((e) => e.decisionId === id)).toMatchObject({
      result: { allow: true },
      proxy: { upstream: 'openai', error: 'obligation_unenforceable' },
    });
  });

  it('an MCP result (a prompt, answered as an event stream) redacted and cut with the official MCP client', async () => {
    const transport = new StreamableHTTPClientTransport(new URL(`${proxy.url}/mcp/tools`), {
      requestInit: { headers: { authorization: `Bearer ${TOKEN}` } },
    });
    const client = new Client({ name: 'agent', version: '1.0.0' });
    await client.connect(transport);
    const prompt = await client.getPrompt({ name: 'patient' });
    const content = prompt.messages[0]!.content as { type: 'text'; text: string };
    const doc = JSON.parse(content.text) as typeof PATIENT;
    expect(doc.patient.ssn).toBe(REDACTED);
    expect(doc.patient.contact.email).toBe(REDACTED);
    expect(doc.patient.dob).toBe(PATIENT.patient.dob);
    expect(doc.visits).toEqual([{ day: 1, ssn: REDACTED }, { day: 2 }]);
    expect(prompt._meta?.['argus/obligations']).toMatchObject({
      redacted: 3,
      truncated: [{ path: '/result/messages/0/content/text#/visits', items: 5, kept: 2 }],
    });
    await client.close();
  });

  it('refuses an answer it cannot rewrite (text, or an event stream outside MCP) rather than pass it unredacted', async () => {
    for (const path of ['/text', '/events']) {
      const res = await fetch(`${proxy.url}/plain${path}`, { headers: { authorization: `Bearer ${TOKEN}` } });
      expect(res.status, path).toBe(502);
      const text = await res.text();
      expect(text).not.toContain(PATIENT.patient.ssn);
      expect(JSON.parse(text)).toMatchObject({ code: 'upstream_error', codes: ['obligation_unenforceable'] });
    }
    await eventually(
      () => proxy.events.filter((e) => e.input.resource.id === 'plain' && e.proxy?.error === 'obligation_unenforceable').length === 2,
    );
  });
});
