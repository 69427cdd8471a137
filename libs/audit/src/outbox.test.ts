/**
 * The decision thread's outbox: when gathered records cross to the audit thread. Records a caller
 * waits for cross within 1 ms; records no one waits for (`answered`, the proxy's) may gather for
 * 10 ms, and never hold back one that is waited for.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { UnchainedAuditRecord } from './record.ts';
import { Outbox } from './worker-trail.ts';

const rec = (n: number) => ({ decisionId: `d${n}` }) as unknown as UnchainedAuditRecord;

describe('the outbox of the audit thread', () => {
  let posted: Array<{ first: number; ids: string[]; at: number }>;
  let outbox: Outbox;
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    posted = [];
    outbox = new Outbox(100, (first, recs) =>
      posted.push({ first, ids: recs.map((r) => (r as unknown as { decisionId: string }).decisionId), at: performance.now() }),
    );
  });
  afterEach(() => vi.useRealTimers());

  it('hands a waited-for record over after 1 ms', () => {
    outbox.add(rec(0), 0);
    vi.advanceTimersByTime(0.5);
    expect(posted).toEqual([]);
    vi.advanceTimersByTime(0.5);
    expect(posted).toMatchObject([{ first: 0, ids: ['d0'] }]);
  });

  it('lets answered records gather for 10 ms into one batch', () => {
    for (let i = 0; i < 5; i++) {
      outbox.add(rec(i), i, true);
      vi.advanceTimersByTime(1.5);
    }
    expect(posted).toEqual([]);
    vi.advanceTimersByTime(10 - 7.5);
    expect(posted).toMatchObject([{ first: 0, ids: ['d0', 'd1', 'd2', 'd3', 'd4'] }]);
  });

  it('never holds a waited-for record back behind answered ones', () => {
    outbox.add(rec(0), 0, true);
    vi.advanceTimersByTime(3);
    outbox.add(rec(1), 1);
    vi.advanceTimersByTime(1);
    expect(posted).toMatchObject([{ first: 0, ids: ['d0', 'd1'], at: 4 }]);
    // And an answered record after a waited one does not push the hand-over back.
    outbox.add(rec(2), 2);
    outbox.add(rec(3), 3, true);
    vi.advanceTimersByTime(1);
    expect(posted[1]).toMatchObject({ first: 2, ids: ['d2', 'd3'], at: 5 });
    vi.advanceTimersByTime(20);
    expect(posted).toHaveLength(2);
  });

  it('hands a full batch over at once, and `send` (flush, close) takes what is waiting', () => {
    const small = new Outbox(3, (first, recs) =>
      posted.push({ first, ids: recs.map((r) => (r as unknown as { decisionId: string }).decisionId), at: performance.now() }),
    );
    for (let i = 0; i < 3; i++) small.add(rec(i), i, true);
    expect(posted).toMatchObject([{ first: 0, ids: ['d0', 'd1', 'd2'], at: 0 }]);
    small.add(rec(3), 3, true);
    small.send();
    expect(posted[1]).toMatchObject({ first: 3, ids: ['d3'], at: 0 });
    vi.advanceTimersByTime(20);
    expect(posted).toHaveLength(2);
  });
});
