/**
 * What the CLI and console tests start from: `argus serve` on the starter policies in a temporary
 * data directory, with the human `alice` and trusted agents acting for her, the admin token read
 * from the data directory, and — for the console tests — headless Chromium signed in with it.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { serve, type RunningArgus } from '../commands/serve.ts';
import type { ServerCliIo } from '../commands/server-client.ts';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
/** Where the console tests leave their screenshots. */
export const ARTIFACTS = join(REPO, 'test-artifacts/console');
export const CHROMIUM = '/usr/bin/chromium';
export const hasChromium = existsSync(CHROMIUM);

/** Says once, in the test output, why browser tests of `what` are skipped. */
export function warnWithoutChromium(what: string): void {
  if (!hasChromium) console.warn(`${what} tests skipped: ${CHROMIUM} is missing (apt-get install -y chromium)`);
}

/** A running `argus serve` and how tests talk to it. */
export interface ServeFixture {
  running: RunningArgus;
  dataDir: string;
  /** The admin token `argus serve` wrote. */
  token: string;
  /** An HTTP call with the admin token; the JSON answer. */
  call(method: string, path: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }>;
  close(): Promise<void>;
}

/** Starts `argus serve` (starter policies, SQLite in a temporary directory) with `alice` and `agents` (trusted, owned by alice). */
export async function startServe(name: string, agents: readonly string[]): Promise<ServeFixture> {
  const dataDir = mkdtempSync(join(tmpdir(), `argus-${name}-`));
  const running = await serve({ dataDir, port: '0', banner: false, policies: join(REPO, 'cedar') });
  // An ARGUS_ADMIN_TOKEN in the environment is the admin token serve uses (no file is written then).
  const token = process.env.ARGUS_ADMIN_TOKEN ?? readFileSync(join(dataDir, 'admin-token'), 'utf8').trim();
  const registry = running.runtime.storage.registry;
  await registry.createHuman({ id: 'alice', email: 'alice@example.com', roles: ['support'] });
  for (const id of agents) await registry.createAgent({ id, name: id, owner: 'alice', trust: 'trusted' }, 'test');
  return fixture(running, dataDir, token);
}

/**
 * Starts `argus serve` from a configuration file with a proxy section, as a user runs it: the
 * starter policies, `alice` and her trusted agent `bot` (seeded), `bot` authenticating to the proxy
 * with `botToken`; `proxy` is merged into the proxy section (upstreams, prices...).
 */
export async function startServeWithProxy(name: string, botToken: string, proxy: Record<string, unknown>): Promise<ServeFixture> {
  const { hashAgentToken } = await import('@argus/proxy');
  const dir = mkdtempSync(join(tmpdir(), `argus-${name}-`));
  const config = join(dir, 'argus.json');
  const proxySection = { listen: { port: 0 }, auth: { agentTokens: [{ agent: 'bot', sha256: hashAgentToken(botToken) }] }, ...proxy };
  writeFileSync(config, JSON.stringify({ server: { port: 0 }, policy: { dir: join(REPO, 'cedar') }, proxy: proxySection }));
  const seed = join(dir, 'seed.json');
  writeFileSync(
    seed,
    JSON.stringify({
      humans: [{ id: 'alice', email: 'alice@example.com', roles: ['support'] }],
      agents: [{ id: 'bot', name: 'bot', owner: 'alice', kind: 'assistant', trust: 'trusted' }],
    }),
  );
  const running = await serve(
    { config, dataDir: join(dir, 'data'), seed, banner: false },
    { ARGUS_SECRETS_KEY: 'b'.repeat(64), ARGUS_LOG_LEVEL: 'error' },
  );
  const token = readFileSync(join(dir, 'data', 'admin-token'), 'utf8').trim();
  return fixture(running, dir, token);
}

/** How tests talk to a running `argus serve` in `dataDir` (removed on close). */
function fixture(running: RunningArgus, dataDir: string, token: string): ServeFixture {
  return {
    running,
    dataDir,
    token,
    async call(method, path, body) {
      const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
      const res = await fetch(`${running.url}${path}`, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
      const text = await res.text();
      return { status: res.status, body: (text ? JSON.parse(text) : {}) as Record<string, unknown> };
    },
    async close() {
      await running.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Headless Chromium on the console of `fixture`, signed in with its admin token, at `hash` (e.g. `#/inventory`). */
export async function openConsole(fixture: ServeFixture, hash: string): Promise<{ browser: Browser; page: Page; problems: string[] }> {
  const { chromium } = await import('playwright-core');
  mkdirSync(ARTIFACTS, { recursive: true });
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const problems: string[] = [];
  page.on('pageerror', (err) => problems.push(String(err)));
  await page.goto(`${fixture.running.url}/console/#/overview`);
  await page.fill('#token-input', fixture.token);
  await page.click('#token-form button[type=submit]');
  await page.waitForSelector('#token-state.is-set');
  if (hash !== '#/overview') await page.goto(`${fixture.running.url}/console/${hash}`);
  return { browser, page, problems };
}

/** The io of a CLI command pointed at `fixture` with its admin token, its output given to `out` and `err`. */
export function cliIo(fixture: ServeFixture, out: (text: string) => void, err: (text: string) => void): ServerCliIo {
  return {
    stdout: { write: (t: string) => void out(t) },
    stderr: { write: (t: string) => void err(t) },
    env: { ARGUS_URL: fixture.running.url, ARGUS_TOKEN: fixture.token },
  };
}

/** Registers the trusted MCP server `crm` with one tool, `lookup_order`, as discovery would (no governance attributes). */
export async function registerCrm(fixture: ServeFixture): Promise<void> {
  const tools = [{ name: 'lookup_order', description: 'Look up an order', inputSchema: { type: 'object' } }];
  const body = { id: 'crm', name: 'CRM', url: 'http://crm.internal/mcp', trust: 'trusted', tools };
  const created = await fixture.call('POST', '/v1/registry/mcp-servers', body);
  if (created.status !== 201) throw new Error(`server not created: ${created.status}`);
}

/** `support-bot` calls `crm/lookup_order` as the proxy asks: no caller-supplied attributes, the registry's only. */
export async function decideLookup(fixture: ServeFixture): Promise<{ allow: boolean }> {
  const input = {
    principal: { type: 'Agent', id: 'support-bot' },
    action: 'tool:call',
    resource: { type: 'Tool', id: 'crm/lookup_order' },
    intent: 'lookup-order-status',
  };
  return (await fixture.call('POST', '/v1/authorize', { input })).body.result as { allow: boolean };
}
