/**
 * The console's switches page in real headless Chromium against `argus serve` (starter policies):
 * stop an agent with a reason from the form (its next decision is denied `switch_stopped`, the
 * other agent's is not), a bad tool id refused in place naming the path, "stop everything" only
 * after the confirmation dialog (cancel stops nothing), and resume from the table. Screenshots
 * land in `test-artifacts/console/`.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serve, type RunningArgus } from './commands/serve.ts';

const CHROMIUM = '/usr/bin/chromium';
const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const ARTIFACTS = join(REPO, 'test-artifacts/console');
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) console.warn(`console switches tests skipped: ${CHROMIUM} is missing (apt-get install -y chromium)`);

describe.skipIf(!hasChromium)('console switches page', () => {
  let dataDir: string;
  let running: RunningArgus;
  let token: string;
  let browser: Browser;
  let page: Page;
  const problems: string[] = [];

  const decide = async (agent: string, toolId = 'github/create_issue') => {
    const input = { principal: { type: 'Agent', id: agent }, action: 'tool:call', resource: { type: 'Tool', id: toolId, attributes: { sensitivity: 'internal', allowedIntents: ['lookup-order-status'] } }, intent: 'lookup-order-status' };
    const res = await fetch(`${running.url}/v1/authorize`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ input }) });
    expect(res.status).toBe(200);
    return ((await res.json()) as { result: { allow: boolean; codes?: string[]; summary?: string } }).result;
  };
  const rows = () => page.locator('#switch-list tbody tr').count();

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'argus-console-switches-'));
    mkdirSync(ARTIFACTS, { recursive: true });
    running = await serve({ dataDir, port: '0', banner: false, policies: join(REPO, 'cedar') });
    token = readFileSync(join(dataDir, 'admin-token'), 'utf8').trim();
    const registry = running.runtime.storage.registry;
    await registry.createHuman({ id: 'alice', email: 'alice@example.com', roles: ['support'] });
    for (const id of ['bot-a', 'bot-b']) await registry.createAgent({ id, name: id, owner: 'alice', trust: 'trusted' }, 'test');
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on('pageerror', (err) => problems.push(String(err)));
    await page.goto(`${running.url}/console/#/overview`);
    await page.fill('#token-input', token);
    await page.click('#token-form button[type=submit]');
    await page.waitForSelector('#token-state.is-set');
    await page.click('nav a[data-page=switches]');
    await page.waitForSelector('#switch-empty');
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await running?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  }, 30_000);

  it('starts with nothing stopped and both agents allowed', async () => {
    expect(await page.locator('#switch-empty').innerText()).toContain('Nothing is stopped');
    expect((await decide('bot-a')).allow).toBe(true);
    expect((await decide('bot-b')).allow).toBe(true);
  }, 30_000);

  it('stops an agent from the form: listed with the reason, its decisions denied, the other agent allowed', async () => {
    await page.selectOption('#switch-scope', 'agent');
    await page.fill('#switch-id', 'bot-a');
    await page.fill('#switch-reason', 'sending mail in a loop');
    await page.click('#stop-form button[type=submit]');
    await expect.poll(rows, { timeout: 15_000 }).toBe(1);
    const row = await page.locator('#switch-list tbody tr').innerText();
    expect(row).toContain('bot-a');
    expect(row).toContain('sending mail in a loop');
    expect(row).toContain('admin');
    const denied = await decide('bot-a');
    expect(denied).toMatchObject({ allow: false, codes: ['switch_stopped'] });
    expect(denied.summary).toContain('sending mail in a loop');
    expect((await decide('bot-b')).allow).toBe(true);
  }, 30_000);

  it('refuses a tool id that is not `<server>/<tool>` in place, naming the path', async () => {
    await page.selectOption('#switch-scope', 'tool');
    await page.fill('#switch-id', 'create_issue');
    await page.fill('#switch-reason', 'spam');
    await page.click('#stop-form button[type=submit]');
    await expect.poll(() => page.locator('#stop-form .error').innerText(), { timeout: 15_000 }).toContain('/id: a tool id is `<server>/<tool>`');
    expect(await rows()).toBe(1);
  }, 30_000);

  it('stops everything only after the confirmation dialog; cancel stops nothing', async () => {
    await page.click('#stop-all');
    await page.waitForSelector('dialog[open]');
    await page.click('dialog button.secondary');
    expect(await page.locator('dialog').count()).toBe(0);
    expect((await decide('bot-b')).allow).toBe(true);

    await page.click('#stop-all');
    await page.fill('#reason-input', 'incident 12');
    await page.click('dialog button[type=submit]');
    await page.waitForSelector('#all-stopped');
    expect(await page.locator('#all-stopped').innerText()).toContain('Everything is stopped');
    expect(await page.locator('#all-stopped').innerText()).toContain('incident 12');
    expect((await decide('bot-b', 'jira/search')).codes).toEqual(['switch_stopped']);
    await page.screenshot({ path: join(ARTIFACTS, 'switches.png'), fullPage: true });

    await page.click('#resume-all');
    await page.waitForSelector('#stop-all');
    expect((await decide('bot-b', 'jira/search')).allow).toBe(true);
  }, 30_000);

  it('resumes the agent from the table: allowed again, nothing left stopped', async () => {
    await page.getByRole('button', { name: 'Resume agent bot-a' }).click();
    await page.waitForSelector('#switch-empty');
    expect((await decide('bot-a')).allow).toBe(true);
    expect(problems).toEqual([]);
  }, 30_000);
});
