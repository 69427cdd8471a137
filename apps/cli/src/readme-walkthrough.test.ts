/**
 * The README's "First decision in two minutes", replayed as written: every `curl` of that section
 * is parsed out of README.md and sent to a real `argus serve`, each decision must come out as the
 * README's comment says, and then the console in headless Chromium must explain the deny from its
 * audit record. The screenshot the README shows is taken here, so it stays current.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serve, type RunningArgus } from './commands/serve.ts';

const CHROMIUM = '/usr/bin/chromium';
const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const IMAGES = join(REPO, 'docs/images');
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) console.warn(`README walk-through test skipped: ${CHROMIUM} is missing (apt-get install -y chromium)`);

interface Step {
  url: string;
  headers: Record<string, string>;
  body: string;
  /** The outcome the README's `# →` comment promises, when it names one. */
  expected?: string;
}

/** The `curl` calls of the README section, in order, with what each promises. */
export function walkthroughSteps(readme: string): Step[] {
  const start = readme.indexOf('## First decision in two minutes');
  const end = readme.indexOf('\n## ', start + 1);
  const section = readme.slice(start, end);
  const steps: Step[] = [];
  const curl = /curl -s (\S+)((?:\s+(?:\\\n\s*)?-H\s+(?:'[^']*'|"[^"]*"))*)\s+(?:\\\n\s*)?-d\s+'([^']*)'((?:\n#[^\n]*)*)/g;
  for (const m of section.matchAll(curl)) {
    const headers: Record<string, string> = {};
    for (const h of m[2]!.matchAll(/-H\s+(?:'([^']*)'|"([^"]*)")/g)) {
      const [name, ...value] = (h[1] ?? h[2])!.split(':');
      headers[name!.trim().toLowerCase()] = value.join(':').trim();
    }
    const expected = /"decision":"(\w+)"/.exec(m[4] ?? '')?.[1];
    steps.push({ url: m[1]!, headers, body: m[3]!, ...(expected ? { expected } : {}) });
  }
  return steps;
}

describe.skipIf(!hasChromium)('the README walk-through, replayed', () => {
  let dataDir: string;
  let running: RunningArgus;
  let browser: Browser;

  beforeAll(async () => {
    mkdirSync(IMAGES, { recursive: true });
    dataDir = mkdtempSync(join(tmpdir(), 'argus-readme-'));
    running = await serve({ dataDir, port: '0', banner: false, policies: join(REPO, 'cedar') });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-sync'],
    });
  }, 90_000);
  afterAll(async () => {
    await browser?.close();
    await running?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('shows every page empty with what to do next, before anything exists', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 820 } });
    await page.goto(`${running.url}/console/#/live`);
    await expect.poll(() => page.locator('#live-table tbody').innerText(), { timeout: 15_000 }).toContain('.argus/admin-token');
    await page.goto(`${running.url}/console/#/inventory`);
    await expect.poll(() => page.locator('main').innerText(), { timeout: 15_000 }).toContain('.argus/admin-token');
    const token = process.env.ARGUS_ADMIN_TOKEN ?? readFileSync(join(dataDir, 'admin-token'), 'utf8').trim();
    await page.fill('#token-input', token);
    await page.click('#token-form button[type=submit]');
    const expectations: Array<[string, RegExp]> = [
      ['#/overview', /No decisions in the last hour/],
      ['#/live', /No decisions yet/],
      ['#/inventory', /Register your first agent/],
      ['#/graph', /No delegations yet/],
      ['#/goals', /No goals yet/],
    ];
    for (const [hash, text] of expectations) {
      await page.goto(`${running.url}/console/${hash}`);
      await expect.poll(() => page.locator('main').innerText(), { timeout: 15_000, message: hash }).toMatch(text);
    }
    await page.close();
  }, 90_000);

  it('decides as the README says, and the console explains the deny from its record', async () => {
    const token = process.env.ARGUS_ADMIN_TOKEN ?? readFileSync(join(dataDir, 'admin-token'), 'utf8').trim();
    const steps = walkthroughSteps(readFileSync(join(REPO, 'README.md'), 'utf8'));
    expect(steps.map((s) => s.expected ?? '-')).toEqual(['-', '-', 'allow', 'deny']);
    for (const step of steps) {
      const url = step.url.replace(/^localhost:8181/, running.url);
      const headers = Object.fromEntries(Object.entries(step.headers).map(([k, v]) => [k, v.replace('$TOKEN', token)]));
      const res = await fetch(url, { method: 'POST', headers, body: step.body });
      const answer = (await res.json()) as { result?: { decision: string } };
      expect(res.status, `${step.url}: ${JSON.stringify(answer)}`).toBeLessThan(300);
      if (step.expected) expect(answer.result?.decision).toBe(step.expected);
    }

    const page = await browser.newPage({ viewport: { width: 1280, height: 820 } });
    await page.goto(`${running.url}/console/`);
    await page.fill('#token-input', token);
    await page.click('#token-form button[type=submit]');
    await page.goto(`${running.url}/console/#/live`);
    const deny = page.locator('#live-table tr.deny').first();
    await deny.waitFor({ timeout: 20_000 });
    await deny.locator('button').click();
    await page.waitForSelector('#recorded-title');
    await expect
      .poll(() => page.locator('section.explain').first().innerText(), { timeout: 10_000 })
      .toContain('secret-tools-need-clearance');
    await page.screenshot({ path: join(IMAGES, 'console-first-decision.png'), fullPage: true });

    // The agent never sent a heartbeat: its decided calls alone keep its lease fresh in the inventory.
    await page.goto(`${running.url}/console/#/inventory`);
    const agent = page.locator('#table-agents tr[data-id="support-bot"]');
    await agent.waitFor({ timeout: 15_000 });
    await expect
      .poll(
        async () => {
          await page.getByRole('button', { name: 'Refresh' }).click();
          return agent.innerText();
        },
        { timeout: 15_000 },
      )
      .toMatch(/alive/);
    expect(await agent.locator('td').nth(3).innerText()).toMatch(/alive/);
    expect(await agent.locator('td').nth(4).innerText()).toMatch(/\d+ (s|min) ago/);
    await page.close();
  }, 90_000);
});
