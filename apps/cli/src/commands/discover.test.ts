import { PassThrough } from 'node:stream';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  freePortBlock,
  startMcpServer,
  startOpenAiStub,
  startPlainHttp,
  startRegistryStub,
  type RegistryStub,
  type RunningServer,
} from '@argus/discover/testing';
import { registerDiscoverCommands, runDiscover, type DiscoverCliIo } from './discover.ts';

const TOKEN = 'cli-scanner-token-abcdef123456';

function io(tty = false): DiscoverCliIo & { out: () => string; err: () => string } {
  const stdout = new PassThrough();
  const stderr = new PassThrough() as PassThrough & {
    isTTY?: boolean;
    columns?: number;
    cursorTo?: unknown;
    clearLine?: unknown;
    moveCursor?: unknown;
  };
  if (tty) {
    stderr.isTTY = true;
    stderr.columns = 120;
    stderr.cursorTo = (_x: number, _y?: number, cb?: () => void) => (cb?.(), true);
    stderr.clearLine = (_d: number, cb?: () => void) => (cb?.(), true);
    stderr.moveCursor = (_x: number, _y: number, cb?: () => void) => (cb?.(), true);
  }
  let out = '';
  let err = '';
  stdout.on('data', (d: Buffer) => (out += d.toString()));
  stderr.on('data', (d: Buffer) => (err += d.toString()));
  return { stdout, stderr, env: {}, out: () => out, err: () => err };
}

describe('argus discover run', () => {
  let base: number;
  let mcp: RunningServer;
  let openai: RunningServer;
  let plain: RunningServer;
  let registry: RegistryStub;

  beforeAll(async () => {
    base = await freePortBlock(6);
    mcp = await startMcpServer({
      name: 'cli-mcp',
      tools: [{ name: 'lookup', description: 'Look something up' }],
      mode: 'json',
      port: base + 1,
    });
    openai = await startOpenAiStub(['m-1'], base + 2);
    plain = await startPlainHttp(base + 3);
    registry = await startRegistryStub(TOKEN);
  });
  afterAll(async () => {
    await Promise.all([mcp, openai, plain, registry].map((s) => s.close()));
  });

  const range = () => `127.0.0.1:${base}-${base + 5}`;

  it('prints a summary table of what it found (dry run, nothing reported), with a progress bar on a TTY stderr', async () => {
    const program = new Command().exitOverride();
    const streams = io(true);
    registerDiscoverCommands(program, streams);
    await program.parseAsync(
      ['node', 'argus', 'discover', 'run', range(), '--dry-run', '--tools', '--allow', '127.0.0.0/8', '--timeout-ms', '10000'],
      { from: 'node' },
    );
    expect(process.exitCode ?? 0).toBe(0);
    const out = streams.out();
    expect(out).toMatch(/^2 found · 6 endpoints probed, 3 open/);
    expect(out).toContain(`mcp-127-0-0-1-${base + 1}`);
    expect(out).toContain(`openai-127-0-0-1-${base + 2}`);
    expect(out).not.toContain(`-${base + 3}`);
    expect(out).toContain('dry run');
    expect(out).toContain('lookup');
    expect(streams.err()).toContain('scanning [');
    expect(registry.writes).toEqual([]);
  });

  it('reports to the registry with the token and shows the trust state; never prints the token', async () => {
    const streams = io();
    const code = await runDiscover(range(), { kind: 'network', registry: registry.url, token: TOKEN, timeoutMs: '10000' }, streams);
    expect(code).toBe(0);
    expect(registry.writes.sort()).toEqual([`PUT agents/openai-127-0-0-1-${base + 2}`, `PUT mcp-servers/mcp-127-0-0-1-${base + 1}`]);
    expect(streams.out()).toContain('discovered');
    expect(streams.out()).toContain('upserted');
    expect(streams.out() + streams.err()).not.toContain(TOKEN);
    expect(streams.err()).toBe('');
  });

  it('prints JSON with --json', async () => {
    const streams = io();
    expect(await runDiscover(range(), { kind: 'network', dryRun: true, json: true, timeoutMs: '10000' }, streams)).toBe(0);
    const parsed = JSON.parse(streams.out()) as { result: { findings: Array<{ id: string }> } };
    expect(parsed.result.findings.map((f) => f.id).sort()).toEqual([`mcp-127-0-0-1-${base + 1}`, `openai-127-0-0-1-${base + 2}`]);
  });

  it('exits 2 with a one-line reason for a target it will not scan', async () => {
    const tooBig = io();
    expect(await runDiscover('127.0.0.0/16', { kind: 'network', ports: '1-100', dryRun: true, maxEndpoints: '1000' }, tooBig)).toBe(2);
    expect(tooBig.err()).toMatch(
      /^argus discover: target `127.0.0.0\/16` covers 6553400 endpoints, more than the configured maximum 1000\n$/,
    );
    const outside = io();
    expect(await runDiscover('10.1.2.3:80', { kind: 'network', dryRun: true, allow: ['127.0.0.0/8'] }, outside)).toBe(2);
    expect(outside.err()).toMatch(/outside the allowed CIDRs/);
    const noRegistry = io();
    expect(await runDiscover(range(), { kind: 'network' }, noRegistry)).toBe(2);
    expect(noRegistry.err()).toMatch(/--registry URL is required/);
    const badKind = io();
    expect(await runDiscover(range(), { kind: 'mainframe', dryRun: true }, badKind)).toBe(2);
  });

  it('exits 2 when the registry is unreachable or refuses the credential', async () => {
    const down = io();
    expect(await runDiscover(`127.0.0.1:${base + 1}`, { kind: 'network', registry: 'http://127.0.0.1:1', token: TOKEN }, down)).toBe(2);
    expect(down.err()).toMatch(/registry unreachable/);
    const badToken = io();
    expect(await runDiscover(`127.0.0.1:${base + 1}`, { kind: 'network', registry: registry.url, token: 'wrong' }, badToken)).toBe(2);
    expect(badToken.err()).toMatch(/refused the scanner credential/);
  });
});
