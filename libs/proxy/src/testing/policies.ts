import type { TestPolicy } from './cedar-decision-point.ts';

/** The Cedar policy set the proxy tests decide with. */
export const TEST_POLICIES: Record<string, TestPolicy> = {
  'bot-gpt': { text: 'permit(principal == Agent::"bot", action == Action::"llm:invoke", resource == Model::"gpt-ok");' },
  'any-echo-key': { text: 'permit(principal, action == Action::"llm:invoke", resource == Model::"echo-key");' },
  'any-embeddings': { text: 'permit(principal, action == Action::"llm:invoke", resource == Model::"text-embedding-3-small");' },
  'any-claude': { text: 'permit(principal, action == Action::"llm:invoke", resource == Model::"claude-ok");' },
  'openai-get': {
    text: 'permit(principal, action == Action::"http:request", resource == Api::"openai") when { context.method == "GET" };',
  },
  'openai-redirect': {
    text: 'permit(principal, action == Action::"http:request", resource == Api::"openai") when { context.path == "/v1/redirect" };',
  },
  'internal-get': {
    text: 'permit(principal, action == Action::"http:request", resource == Api::"internal") when { context.method == "GET" };',
  },
  'mcp-connect': { text: 'permit(principal, action == Action::"mcp:connect", resource == McpServer::"tools");' },
  'tool-echo': { text: 'permit(principal, action == Action::"tool:call", resource == Tool::"tools/echo");' },
  'tool-count': { text: 'permit(principal, action == Action::"tool:call", resource == Tool::"tools/count");' },
  'no-delete': {
    text: 'forbid(principal, action == Action::"tool:call", resource == Tool::"tools/delete");',
    reason: 'deleting is never delegated to agents',
  },
  'read-readme': { text: 'permit(principal, action == Action::"resource:read", resource == Resource::"tools/file:///readme.md");' },
};

/** Test credentials: each one a canary that must never leave the proxy. */
export const CANARIES = {
  openai: 'sk-upstream-CANARY-9f8e7d6c5b4a',
  anthropic: 'sk-ant-CANARY-1a2b3c4d5e6f',
  mcp: 'mcp-CANARY-00112233445566',
} as const;

/** The agent token of `bot`. */
export const BOT_TOKEN = 'argus_bot_token_7c1d2e3f4a5b';
/** The agent token of `intruder` (authenticated, but allowed almost nothing). */
export const INTRUDER_TOKEN = 'argus_intruder_token_0a9b8c7d';
