import { describe, expect, it } from 'vitest';
import { ConfigError } from '@argus/platform';
import { globMatch } from './glob.ts';
import { loadHeuristics, matchWorkload, parseHeuristics } from './heuristics.ts';

const h = loadHeuristics();

describe('heuristics', () => {
  it('the bundled file validates and is frozen', () => {
    expect(h.version).toBe(1);
    expect(Object.isFrozen(h.images)).toBe(true);
  });

  it('rejects an invalid file naming the offending path', () => {
    const bad = structuredClone(h) as unknown as Record<string, unknown>;
    (bad.images as unknown[]).push({ pattern: '*x*', hint: 'robot' });
    bad.surprise = true;
    try {
      parseHeuristics(bad, 'custom.json');
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      const paths = (err as ConfigError).errors.map((e) => e.path);
      expect(paths).toContain('/surprise');
      expect(paths).toContain(`/images/${h.images.length}/hint`);
    }
  });

  it('matches image names by full reference or last segment, labels with values, env names, ports', () => {
    expect(matchWorkload(h, { image: 'ghcr.io/acme/mcp-server-github:1.4' }).signals.map((s) => s.rule)).toContain('mcp-server-*');
    expect(matchWorkload(h, { image: 'docker.io/library/nginx:1.27' }).matched).toBe(false);
    expect(matchWorkload(h, { image: 'acme/crewai-research@sha256:abc' }).signals[0]).toMatchObject({
      source: 'image',
      framework: 'crewai',
    });
    expect(matchWorkload(h, { labels: { 'app.kubernetes.io/component': 'mcp-server' } }).strong).toBe(true);
    expect(matchWorkload(h, { labels: { 'app.kubernetes.io/component': 'frontend' } }).matched).toBe(false);
    expect(matchWorkload(h, { envNames: ['PATH', 'MCP_TRANSPORT'] }).signals).toEqual([{ source: 'env', rule: 'MCP_*', hint: 'mcp' }]);
    const portOnly = matchWorkload(h, { ports: [11434] });
    expect(portOnly).toMatchObject({ matched: true, strong: false, ports: [11434] });
  });

  it('globs: `*` only, anchored, case-insensitive, regex characters literal', () => {
    expect(globMatch('mcp-server-*', 'MCP-SERVER-x')).toBe(true);
    expect(globMatch('mcp-server-*', 'my-mcp-server-x')).toBe(false);
    expect(globMatch('a.b', 'axb')).toBe(false);
    expect(globMatch('io.modelcontextprotocol.*', 'io.modelcontextprotocol.server')).toBe(true);
  });
});
