import { appendFileSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DecisionEvent } from '@argus/contracts';
import { silentLogger } from '@argus/platform';
import { afterEach, describe, expect, it } from 'vitest';
import { openCallJournal, recoverCalls, SEGMENT_BYTES, startCallJournal } from './journal.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'argus-journal-'));
  dirs.push(d);
  return d;
}

function event(id: string, pad = 0): DecisionEvent {
  return {
    decisionId: id,
    time: '2026-12-07T10:00:00.000Z',
    caller: { kind: 'proxy', subject: 'bot' },
    input: {
      principal: { type: 'Agent', id: 'bot' },
      action: 'llm:invoke',
      resource: { type: 'Model', id: 'gpt-ok' },
      context: { pad: 'x'.repeat(pad) },
    },
    result: { allow: true, decision: 'allow', reasons: [], errors: [] },
    policyVersion: 'v1',
    latencyMs: 1,
    proxy: { upstream: 'openai', credentialName: 'openai-key' },
  };
}

/** A recorder that keeps what it was given. */
function keeper(): { events: DecisionEvent[]; record(e: DecisionEvent): Promise<void> } {
  const events: DecisionEvent[] = [];
  return { events, record: async (e) => void events.push(e) };
}

const turn = () => new Promise((r) => setImmediate(r));

describe('the journal of forwarded calls', () => {
  it('recovers, as interrupted, exactly the calls a crashed run forwarded and never marked done', async () => {
    const dir = tempDir();
    const journal = openCallJournal(dir);
    for (const id of ['a', 'b', 'c']) journal.started(id, JSON.stringify(event(id)));
    journal.done('b');
    journal.done('unknown');
    await turn();
    // The run crashes here: no close. A line cut short by the crash is skipped.
    appendFileSync(join(dir, readdirSync(dir)[0]!), 'S\t{"decisionId":"half');
    const recorder = keeper();
    expect(await recoverCalls(dir, recorder, silentLogger())).toBe(2);
    expect(recorder.events.map((e) => [e.decisionId, e.proxy])).toEqual([
      ['a', { upstream: 'openai', credentialName: 'openai-key', error: 'interrupted' }],
      ['c', { upstream: 'openai', credentialName: 'openai-key', error: 'interrupted' }],
    ]);
    expect(readdirSync(dir)).toEqual([]);
    // Nothing is recorded twice.
    expect(await recoverCalls(dir, recorder, silentLogger())).toBe(0);
  });

  it('leaves nothing to recover after a clean close, and keeps the files when a record fails', async () => {
    const dir = tempDir();
    const journal = openCallJournal(dir);
    journal.started('a', JSON.stringify(event('a')));
    journal.done('a');
    journal.close();
    expect(readdirSync(dir)).toEqual([]);
    const next = openCallJournal(dir);
    next.started('b', JSON.stringify(event('b')));
    await turn();
    const failing = { record: async () => Promise.reject(new Error('audit down')) };
    await expect(recoverCalls(dir, failing, silentLogger())).rejects.toThrow('audit down');
    expect(readdirSync(dir).length).toBe(1);
    // The proxy still starts (a new file), and the old one waits for the next start.
    (await startCallJournal(dir, failing, silentLogger())).close();
    expect(readdirSync(dir).length).toBe(1);
    const recorder = keeper();
    expect(await recoverCalls(dir, recorder, silentLogger())).toBe(1);
  });

  it('never records a call twice when a recovery fails part-way', async () => {
    const dir = tempDir();
    const journal = openCallJournal(dir);
    for (const id of ['a', 'b', 'c']) journal.started(id, JSON.stringify(event(id)));
    // The run crashes; the first recovery records `a`, then the trail fails on `b`.
    const recorder = keeper();
    const flaky = {
      record: async (e: DecisionEvent) => (e.decisionId === 'b' ? Promise.reject(new Error('audit down')) : recorder.record(e)),
    };
    await expect(recoverCalls(dir, flaky, silentLogger())).rejects.toThrow('audit down');
    expect(await recoverCalls(dir, recorder, silentLogger())).toBe(2);
    expect(recorder.events.map((e) => e.decisionId)).toEqual(['a', 'b', 'c']);
  });

  it('begins a new file past its size, carrying the calls still open, and keeps one file', async () => {
    const dir = tempDir();
    const journal = openCallJournal(dir);
    const big = Math.ceil(SEGMENT_BYTES / 3);
    for (const id of ['a', 'b', 'c', 'd', 'e']) journal.started(id, JSON.stringify(event(id, big)));
    expect(readdirSync(dir)).toEqual(['2.jsonl']);
    for (const id of ['a', 'b', 'c']) journal.done(id);
    await turn();
    // a, b and c were carried into the new file and are done there; d and e are still in flight.
    journal.close();
    const recorder = keeper();
    expect(await recoverCalls(dir, recorder, silentLogger())).toBe(2);
    expect(recorder.events.map((e) => e.decisionId)).toEqual(['d', 'e']);
  });
});
