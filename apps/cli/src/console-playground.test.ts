/**
 * The console's policy playground in real headless Chromium against `argus serve`, on a hard deny:
 * a quarantined agent's request shows the hard-deny codes and that no policy was evaluated, never
 * a default deny ("no permit matched"); and a save over a set another author published since the
 * page loaded is refused, not an overwrite. Screenshots land in `test-artifacts/console/`.
 */
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ARTIFACTS, hasChromium, openConsole, startServe, warnWithoutChromium, type ServeFixture } from './testing/serve-fixture.ts';

warnWithoutChromium('console playground');

describe.skipIf(!hasChromium)('console playground', () => {
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

  it('does not overwrite a set another author published after the page loaded: says so and offers to reload', async () => {
    await page.reload();
    await page.waitForSelector('#pg-file option', { state: 'attached' });
    const source = (await argus.call('GET', '/v1/policies/source')).body as { policies: Array<{ file: string; text: string }> };
    const added = '@id("api-added")\nforbid (principal, action == Argus::Action::"tool:call", resource == Argus::Tool::"api.blocked");\n';
    const published = await argus.call('PUT', '/v1/policies', {
      policies: [...source.policies.map((p) => ({ file: p.file, text: p.text })), { file: 'policies/api-added.cedar', text: added }],
      message: 'another author',
    });
    expect(published.status).toBe(200);

    await page.check('#pg-set-candidate');
    const file = source.policies[0]!;
    await page.selectOption('#pg-file', file.file);
    await page.waitForSelector('#pg-policy.cm-content');
    await page.fill('#pg-policy', `${file.text}\n// a console edit\n`);
    await page.getByRole('button', { name: 'Validate' }).click();
    await page.waitForSelector('.diagnostics .ok');
    await page.click('button:has-text("Save as the live set")');
    await page.fill('#reason-input', 'console edit');
    await page.locator('dialog').getByRole('button', { name: 'Save' }).click();
    await page.waitForSelector('.diagnostics [role=alert]:has-text("changed since you loaded it")', { timeout: 15_000 });
    expect(await page.locator('#toast').innerText()).not.toContain('Saved');
    const live = (await argus.call('GET', '/v1/policies/source')).body as { policies: Array<{ file: string; text: string }> };
    expect(live.policies.map((p) => p.file)).toContain('policies/api-added.cedar');
    expect(live.policies.find((p) => p.file === file.file)?.text).toBe(file.text);
    await page.screenshot({ path: join(ARTIFACTS, 'playground-stale-save.png'), fullPage: true });

    await page.click('#pg-reload');
    await page.waitForSelector('#pg-file option[value="policies/api-added.cedar"]', { state: 'attached' });
    expect(await page.isDisabled('button:has-text("Save as the live set")')).toBe(true);
    expect(problems).toEqual([]);
  }, 60_000);
});
