/**
 * The console's inventory sets a discovered tool's governance attributes, in real headless
 * Chromium against `argus serve` with the starter policies: the tool call is denied while the tool
 * has no sensitivity or intents, an admin fills them in the tools panel, and the same call is
 * allowed — without the tool's hash or the server's trust moving.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serve, type RunningArgus } from './commands/serve.ts';

const CHROMIUM = '/usr/bin/chromium';
const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) console.warn(`console tools tests skipped: ${CHROMIUM} is missing (apt-get install -y chromium)`);

describe.skipIf(!hasChromium)('console inventory: tool attributes', () => {
  let dataDir: string;
  let running: RunningArgus;
  let token: string;
  let browser: Browser;
  let page: Page;
  const problems: string[] = [];

  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${running.url}${path}`, { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const decide = async () => {
    const input = { principal: { type: 'Agent', id: 'support-bot' }, action: 'tool:call', resource: { type: 'Tool', id: 'crm/lookup_order' }, intent: 'lookup-order-status' };
    return (await call('POST', '/v1/authorize', { input })).body.result as { allow: boolean };
  };

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'argus-console-tools-'));
    running = await serve({ dataDir, port: '0', banner: false, policies: join(REPO, 'cedar') });
    token = readFileSync(join(dataDir, 'admin-token'), 'utf8').trim();
    const registry = running.runtime.storage.registry;
    await registry.createHuman({ id: 'alice', email: 'alice@example.com', roles: ['support'] });
    await registry.createAgent({ id: 'support-bot', name: 'support bot', owner: 'alice', trust: 'trusted' }, 'test');
    const tools = [{ name: 'lookup_order', description: 'Look up an order', inputSchema: { type: 'object' } }];
    expect((await call('POST', '/v1/registry/mcp-servers', { id: 'crm', name: 'CRM', url: 'http://crm.internal/mcp', trust: 'trusted', tools })).status).toBe(201);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on('pageerror', (err) => problems.push(String(err)));
    await page.goto(`${running.url}/console/#/overview`);
    await page.fill('#token-input', token);
    await page.click('#token-form button[type=submit]');
    await page.waitForSelector('#token-state.is-set');
    await page.goto(`${running.url}/console/#/inventory`);
    await page.waitForSelector('#table-mcp-servers');
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await running?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  }, 30_000);

  it('an admin fills sensitivity and intents in the tools panel; the starter policies then allow the call', async () => {
    const before = (await call('GET', '/v1/registry/mcp-servers/crm')).body as { toolsHash: string };
    expect((await decide()).allow).toBe(false);

    await page.click('button[aria-label="Tools of MCP server crm"]');
    await page.waitForSelector('#tools-crm tr[data-tool="lookup_order"]');
    await page.selectOption('[aria-label="Sensitivity of lookup_order"]', 'internal');
    await page.fill('[aria-label="Intents of lookup_order"]', 'lookup-order-status');
    await page.fill('[aria-label="Labels of lookup_order"]', 'owner=support');
    await page.click('button[aria-label="Save tool lookup_order"]');
    await page.getByText('Tool crm/lookup_order saved.').first().waitFor();

    const after = (await call('GET', '/v1/registry/mcp-servers/crm')).body as { trust: string; toolsHash: string; tools: Array<Record<string, unknown>> };
    expect(after.tools[0]).toMatchObject({ sensitivity: 'internal', allowedIntents: ['lookup-order-status'], labels: { owner: 'support' } });
    expect(after.toolsHash).toBe(before.toolsHash);
    expect(after.trust).toBe('trusted');
    expect((await decide()).allow).toBe(true);
    // The panel stays open across the reload and shows what was saved.
    expect(await page.inputValue('[aria-label="Intents of lookup_order"]')).toBe('lookup-order-status');

    await page.fill('[aria-label="Labels of lookup_order"]', 'nokey');
    await page.click('button[aria-label="Save tool lookup_order"]');
    await page.getByText('is not key=value').first().waitFor();
    expect(problems).toEqual([]);
  }, 60_000);
});
