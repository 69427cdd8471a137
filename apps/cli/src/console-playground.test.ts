/**
 * The console's policy playground in real headless Chromium against `argus serve`, on a hard deny:
 * a quarantined agent's request shows the hard-deny codes and that no policy was evaluated, never
 * a default deny ("no permit matched"). Screenshots land in `test-artifacts/console/`.
 */
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ARTIFACTS, hasChromium, openConsole, startServe, warnWithoutChromium, type ServeFixture } from './testing/serve-fixture.ts';

warnWithoutChromium('console playground');

describe.skipIf(!hasChromium)('console playground on a hard deny', () => {
  let argus: ServeFixture;
  let browser: Browser;
  let page: Page;
  let problems: string[];

  beforeAll(async () => {
    argus = await startServe('console-playground', ['bot-a']);
    ({ browser, page, problems } = await openConsole(argus, '#/playground'));
    await page.waitForSelector('#pg-request');
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await argus?.close();
  }, 30_000);

  it('shows a quarantined agent denied before any policy, without a "no permit matched" line', async () => {
    const quarantined = await argus.call('POST', '/v1/registry/agents/bot-a/trust', { to: 'quarantined', reason: 'suspicious' });
    expect(quarantined.status).toBe(200);
    const input = {
      principal: { type: 'Agent', id: 'bot-a' },
      action: 'tool:call',
      resource: { type: 'Tool', id: 'crm.search', attributes: { sensitivity: 'internal', allowedIntents: ['lookup-order-status'] } },
      intent: 'lookup-order-status',
    };
    await page.fill('#pg-request', JSON.stringify(input, null, 2));
    await page.click('#pg-run');
    await page.waitForSelector('.result .badge-deny', { timeout: 15_000 });
    const result = await page.locator('.result').innerText();
    expect(result).toContain('Hard deny before any policy: agent_quarantined');
    expect(result).toContain('none: no policy was evaluated (hard deny)');
    expect(result).not.toContain('no permit matched');
    await page.screenshot({ path: join(ARTIFACTS, 'playground-hard-deny.png'), fullPage: true });
    expect(problems).toEqual([]);
  }, 30_000);
});
