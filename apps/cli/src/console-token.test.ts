/**
 * The console's token box in real headless Chromium against `argus serve`: a token is checked once
 * against the server before it is kept, so a wrong one is said to be rejected (401), never shown
 * as set; the right one is accepted. Screenshots land in `test-artifacts/console/`.
 */
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ARTIFACTS, hasChromium, openConsole, startServe, warnWithoutChromium, type ServeFixture } from './testing/serve-fixture.ts';

warnWithoutChromium('console token');

describe.skipIf(!hasChromium)('console token box', () => {
  let argus: ServeFixture;
  let browser: Browser;
  let page: Page;
  let problems: string[];

  const submit = async (value: string) => {
    await page.fill('#token-input', value);
    await page.click('#token-form button[type=submit]');
  };
  const stored = () => page.evaluate("sessionStorage.getItem('argus.console.token')");

  beforeAll(async () => {
    argus = await startServe('console-token', ['bot-a']);
    // Signed in with the right token first: a wrong one must not leave a token in use either.
    ({ browser, page, problems } = await openConsole(argus, '#/inventory'));
    await page.waitForSelector('main h1');
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await argus?.close();
  }, 30_000);

  it('says a wrong token is rejected by the server (401), keeps no token, and the pages say so', async () => {
    await submit('wrong-token-xyz-1234567890');
    await page.waitForSelector('#token-state.is-rejected', { timeout: 10_000 });
    expect(await page.locator('#token-state').innerText()).toBe('token rejected');
    expect(await page.locator('#token-state.is-set').count()).toBe(0);
    const toast = await page.locator('#toast').innerText();
    expect(toast).toContain('The server rejected this token (401');
    expect(toast).not.toContain('set for this tab');
    expect(await stored()).toBeNull();
    expect(await page.inputValue('#token-input')).toBe('');
    expect(await page.content()).not.toContain('wrong-token-xyz-1234567890');
    await expect.poll(() => page.locator('main').innerText(), { timeout: 10_000 }).toContain('This needs the admin token');
    await page.screenshot({ path: join(ARTIFACTS, 'token-rejected.png') });
  }, 30_000);

  it('accepts the right token after checking it', async () => {
    await submit(argus.token);
    await page.waitForSelector('#token-state.is-set');
    expect(await page.locator('#token-state').innerText()).toBe('token set');
    expect(await page.locator('#toast').innerText()).toContain('Token accepted by the server');
    expect(await stored()).toBe(argus.token);
    expect(problems).toEqual([]);
  }, 30_000);
});
