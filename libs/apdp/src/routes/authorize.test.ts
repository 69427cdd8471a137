import type { IncomingMessage } from 'node:http';
import type { AuthPrincipal } from '@argus/platform';
import { describe, expect, it } from 'vitest';
import { PROXY_SERVICE, setCaller, whatIfWanted } from './authorize.ts';

/** A request the permission table admitted with `principal`, asking for a what-if. */
function asking(principal: AuthPrincipal | undefined, header = 'true'): IncomingMessage {
  const req = { headers: { 'x-argus-what-if': header } } as unknown as IncomingMessage;
  setCaller(req, principal);
  return req;
}

describe('whatIfWanted', () => {
  it('takes a what-if from an admin, a human policy author and the proxy service', () => {
    expect(whatIfWanted(asking({ subject: 'admin', roles: ['admin'], kind: 'admin' }))).toBe(true);
    expect(whatIfWanted(asking({ subject: 'alice', roles: ['policy-author'], kind: 'human' }))).toBe(true);
    expect(whatIfWanted(asking({ subject: PROXY_SERVICE, roles: ['service'], kind: 'service' }))).toBe(true);
  });

  it('refuses a role claimed by an agent or a service: roles widen access for humans only', () => {
    for (const kind of ['agent', 'service', 'scanner'] as const)
      expect(() => whatIfWanted(asking({ subject: 'bot-a', roles: ['policy-author'], kind }))).toThrow(
        expect.objectContaining({ code: 'forbidden' }),
      );
  });

  it('refuses any other caller, an anonymous one and an odd header value', () => {
    expect(() => whatIfWanted(asking({ subject: 'app', roles: ['service'], kind: 'service' }))).toThrow(/what-if/);
    expect(() => whatIfWanted(asking({ subject: 'alice', roles: [], kind: 'human' }))).toThrow(/what-if/);
    expect(() => whatIfWanted(asking(undefined))).toThrow(/what-if/);
    expect(() => whatIfWanted(asking({ subject: 'admin', roles: ['admin'], kind: 'admin' }, 'yes'))).toThrow(/what-if/);
    expect(whatIfWanted(asking({ subject: 'bot-a', roles: ['agent'], kind: 'agent' }, 'false'))).toBe(false);
  });
});
