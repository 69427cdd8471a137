/**
 * The console's inventory sets a discovered tool's governance attributes, in real headless
 * Chromium against `argus serve` with the starter policies: the tool call is denied while the tool
 * has no sensitivity or intents, an admin fills them in the tools panel, and the same call is
 * allowed — without the tool's hash or the server's trust moving.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  decideLookup,
  hasChromium,
  openConsole,
  registerCrm,
  startServe,
  warnWithoutChromium,
  type ServeFixture,
} from './testing/serve-fixture.ts';

warnWithoutChromium('console tools');

describe.skipIf(!hasChromium)('console inventory: tool attributes', () => {
  let argus: ServeFixture;
  let browser: Browser;
  let page: Page;
  let problems: string[];

  const decide = () => decideLookup(argus);

  beforeAll(async () => {
    argus = await startServe('console-tools', ['support-bot']);
    await registerCrm(argus);
    ({ browser, page, problems } = await openConsole(argus, '#/inventory'));
    await page.waitForSelector('#table-mcp-servers');
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await argus?.close();
  }, 30_000);

  it('an admin fills sensitivity and intents in the tools panel; the starter policies then allow the call', async () => {
    const before = (await argus.call('GET', '/v1/registry/mcp-servers/crm')).body as { toolsHash: string };
    expect((await decide()).allow).toBe(false);

    await page.click('button[aria-label="Tools of MCP server crm"]');
    await page.waitForSelector('#tools-crm tr[data-tool="lookup_order"]');
    await page.selectOption('[aria-label="Sensitivity of lookup_order"]', 'internal');
    await page.fill('[aria-label="Intents of lookup_order"]', 'lookup-order-status');
    await page.fill('[aria-label="Labels of lookup_order"]', 'owner=support');
    await page.click('button[aria-label="Save tool lookup_order"]');
    await page.getByText('Tool crm/lookup_order saved.').first().waitFor();

    const after = (await argus.call('GET', '/v1/registry/mcp-servers/crm')).body as {
      trust: string;
      toolsHash: string;
      tools: Array<Record<string, unknown>>;
    };
    expect(after.tools[0]).toMatchObject({
      sensitivity: 'internal',
      allowedIntents: ['lookup-order-status'],
      labels: { owner: 'support' },
    });
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
