/**
 * Switches: operator flags that stop an agent, a tool, a whole MCP server or everything at once.
 * A stopped switch is a hard deny in the decision point, checked before any policy runs, so a
 * kill switch never depends on the policies being right.
 */

/** What a switch stops: every decision (`all`), one agent, one tool (`<server>/<tool>`), or one MCP server. */
export type SwitchScope = 'all' | 'agent' | 'tool' | 'server';

/** The scopes, in the order they are checked and listed. */
export const SWITCH_SCOPES: readonly SwitchScope[] = ['all', 'agent', 'tool', 'server'];

/** The id of the one `all` switch. */
export const ALL_SWITCH_ID = '*';

/** A stopped switch. Resuming removes it: only stopped switches exist. */
export interface SwitchRecord {
  scope: SwitchScope;
  /** `*` for `all`; the agent id; the tool id `<server>/<tool>` (as the proxy names `Tool::"<server>/<tool>"`); the MCP server id. */
  id: string;
  stopped: true;
  /** Why it was stopped, as the operator wrote it (shown in every deny it causes). */
  reason: string;
  /** Who stopped it (the caller's subject). */
  by: string;
  /** When it was stopped (ISO 8601). */
  at: string;
}

/** A stop request: the store stamps `at` with its clock. */
export interface StopSwitch {
  scope: SwitchScope;
  id: string;
  reason: string;
  by: string;
}

/**
 * The switches' durable home. Kept with the other documents (SQLite, MongoDB), not in Redis:
 * a Redis without persistence that restarts or evicts would silently lift a stop.
 */
export interface SwitchStore {
  /** Every stopped switch, ordered by scope then id. Rejects when the store cannot be read. */
  list(): Promise<SwitchRecord[]>;
  get(scope: SwitchScope, id: string): Promise<SwitchRecord | undefined>;
  /** Stops (or re-stops with a new reason) a switch; answers the stored record. */
  stop(input: StopSwitch): Promise<SwitchRecord>;
  /** Resumes a switch; answers the record it removed, undefined when it was not stopped. */
  resume(scope: SwitchScope, id: string): Promise<SwitchRecord | undefined>;
}

/** Payload of `switch.changed` on the event bus: replicas re-read the store on it. */
export interface SwitchChangedEvent {
  scope: SwitchScope;
  id: string;
  change: 'stopped' | 'resumed';
}

/** Orders records by scope (as in `SWITCH_SCOPES`) then id. */
export function sortSwitches(records: SwitchRecord[]): SwitchRecord[] {
  return records.sort(
    (a, b) => SWITCH_SCOPES.indexOf(a.scope) - SWITCH_SCOPES.indexOf(b.scope) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
  );
}

/** The record of a switch `input` stops at `now`: what every adapter stores (and answers) for a stop. */
export function stoppedSwitch(input: StopSwitch, now: Date): SwitchRecord {
  return { scope: input.scope, id: input.id, stopped: true, reason: input.reason, by: input.by, at: now.toISOString() };
}
