import type { ToolDiff, TrustState } from './ports.ts';

/**
 * The trust state machine, relied on by every adapter's `setTrust`:
 * `discovered → pending → trusted`; any non-terminal state → `quarantined` or `revoked`;
 * `quarantined → pending` (release for review). `revoked` is terminal.
 */
export function isLegalTransition(from: TrustState, to: TrustState): boolean {
  if (from === 'revoked' || from === to) return false;
  if (to === 'quarantined' || to === 'revoked') return true;
  if (to === 'pending') return from === 'discovered' || from === 'quarantined';
  if (to === 'trusted') return from === 'pending';
  return false;
}

/**
 * Whether a change caused by a changed tool list may move `from` to `to`: recording the diff
 * without a move is always allowed, and so is demoting `trusted` to `pending` for re-review.
 */
export function isLegalToolChangeTransition(from: TrustState, to: TrustState): boolean {
  if (from === to) return true;
  if (from === 'trusted' && to === 'pending') return true;
  return isLegalTransition(from, to);
}

/**
 * The state a server moves to when its tools changed, given the configured target: a trusted
 * server drops to `pending` (or `quarantined`); quarantined and revoked servers stay where they are.
 */
export function stateAfterToolChange(current: TrustState, target: 'pending' | 'quarantined'): TrustState {
  if (current === 'revoked' || current === 'quarantined') return current;
  if (target === 'quarantined') return 'quarantined';
  return current === 'trusted' ? 'pending' : current;
}

/** Human-readable description of an illegal move, for 409 bodies. */
export function illegalTransitionMessage(from: TrustState, to: TrustState): string {
  if (from === 'revoked') return `\`revoked\` is terminal: cannot move to \`${to}\``;
  if (from === to) return `already \`${to}\``;
  return `illegal trust transition \`${from}\` → \`${to}\``;
}

/** True when a diff records at least one added, removed or changed tool. */
export function isEmptyDiff(diff: ToolDiff): boolean {
  return diff.added.length === 0 && diff.removed.length === 0 && diff.changed.length === 0;
}
