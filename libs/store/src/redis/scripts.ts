import type { Redis } from 'ioredis';

/** A Lua script run as a command: `numberOfKeys` fixed, or (absent) passed first on every call. */
export interface LuaCommand {
  lua: string;
  numberOfKeys?: number;
}

/**
 * `client` with each script defined as a command of that name, once per client (a second adapter
 * on the same client reuses it). ioredis sends EVALSHA and falls back to EVAL: one round trip a call.
 */
export function withScripts<C extends Redis>(client: Redis, scripts: Record<string, LuaCommand>): C {
  const c = client as unknown as Record<string, unknown>;
  for (const [name, command] of Object.entries(scripts)) if (typeof c[name] !== 'function') client.defineCommand(name, command);
  return client as C;
}
