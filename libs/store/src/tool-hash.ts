import { createHash } from 'node:crypto';
import { canonicalJson } from '@argus/contracts/canonical-json';
import type { McpTool, McpToolInput, PolicyFile, ToolDiff } from './ports.ts';

/** Canonical JSON (keys sorted at every level, no whitespace): the one implementation, shared with the audit chain. */
export { canonicalJson };

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** sha256 (hex) of the canonical JSON of a tool's name, description and input schema. */
export function toolHash(tool: McpToolInput): string {
  return sha256(canonicalJson({ name: tool.name, description: tool.description, inputSchema: tool.inputSchema }));
}

/** Adds its hash to each reported tool. */
export function hashTools(tools: readonly McpToolInput[]): McpTool[] {
  return tools.map((t) => ({
    name: t.name,
    description: t.description,
    inputSchema: t.inputSchema,
    hash: toolHash(t),
    // Governance attributes travel with the tool; they are not part of its hash.
    ...(t.sensitivity !== undefined ? { sensitivity: t.sensitivity } : {}),
    ...(t.allowedIntents !== undefined ? { allowedIntents: [...t.allowedIntents] } : {}),
    ...(t.category !== undefined ? { category: t.category } : {}),
    ...(t.labels !== undefined ? { labels: { ...t.labels } } : {}),
  }));
}

/** The governance attributes of a tool (see `McpTool`): set by admins, kept across rescans. */
const GOVERNANCE = ['sensitivity', 'allowedIntents', 'category', 'labels'] as const;

/**
 * `next` with each tool's governance attributes carried over from the tool of the same name in
 * `previous` where `next` does not set them: a discovery scan reports tools, not their governance,
 * and must not erase what an admin set.
 */
export function keepGovernance(previous: readonly McpTool[], next: readonly McpTool[]): McpTool[] {
  const before = new Map(previous.map((t) => [t.name, t]));
  return next.map((t) => {
    const old = before.get(t.name);
    if (!old) return t;
    const carried: Partial<McpTool> = {};
    for (const k of GOVERNANCE) if (t[k] === undefined && old[k] !== undefined) (carried as Record<string, unknown>)[k] = old[k];
    return { ...t, ...carried };
  });
}

/** sha256 over every tool's name and hash, sorted by name; the empty list has a hash too. */
export function toolsHash(tools: readonly Pick<McpTool, 'name' | 'hash'>[]): string {
  const pairs = tools.map((t) => [t.name, t.hash]).sort(([a], [b]) => (a! < b! ? -1 : a! > b! ? 1 : 0));
  return sha256(canonicalJson(pairs));
}

/** Which tools were added, removed or changed between two lists (names sorted). */
export function diffTools(before: readonly Pick<McpTool, 'name' | 'hash'>[], after: readonly Pick<McpTool, 'name' | 'hash'>[]): ToolDiff {
  const old = new Map(before.map((t) => [t.name, t.hash]));
  const now = new Map(after.map((t) => [t.name, t.hash]));
  const added = [...now.keys()].filter((n) => !old.has(n)).sort();
  const removed = [...old.keys()].filter((n) => !now.has(n)).sort();
  const changed = [...now.entries()]
    .filter(([n, h]) => old.has(n) && old.get(n) !== h)
    .map(([n]) => n)
    .sort();
  return { added, removed, changed };
}

/** Content hash of a policy set: sha256 of the canonical JSON of its files sorted by path. */
export function policyVersionHash(files: readonly PolicyFile[]): string {
  const sorted = [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)).map((f) => ({ path: f.path, text: f.text }));
  return sha256(canonicalJson(sorted));
}
