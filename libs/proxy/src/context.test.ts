import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import type { CallState } from './call.ts';
import { InFlightCalls, callStates } from './context.ts';

const call = (agent: string) => ({ agent }) as unknown as CallState;

describe('InFlightCalls', () => {
  it('keeps the calls added and not removed, in order', () => {
    const inFlight = new InFlightCalls();
    const [a, b, c, d] = [call('a'), call('b'), call('c'), call('d')];
    for (const s of [a, b, c, d]) inFlight.add(s);
    inFlight.add(b);
    expect(inFlight.size).toBe(4);
    expect(inFlight.delete(c)).toBe(true);
    expect(inFlight.delete(c)).toBe(false);
    expect(inFlight.delete(a)).toBe(true);
    expect([...inFlight]).toEqual([b, d]);
    inFlight.add(a);
    expect(inFlight.delete(d)).toBe(true);
    expect([...inFlight]).toEqual([b, a]);
    expect(inFlight.size).toBe(2);
    for (const s of [...inFlight]) inFlight.delete(s);
    expect(inFlight.size).toBe(0);
    expect([...inFlight]).toEqual([]);
    inFlight.add(c);
    expect([...inFlight]).toEqual([c]);
  });
});

describe('callStates', () => {
  it('binds a call to its request, separately for each proxy', () => {
    const req = {} as IncomingMessage;
    const one = callStates();
    const two = callStates();
    expect(one.get(req)).toBeUndefined();
    one.set(req, call('a'));
    expect(one.get(req)?.agent).toBe('a');
    expect(two.get(req)).toBeUndefined();
  });
});
