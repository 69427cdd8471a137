import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ipAllowed, parseCidr, parseIp, parseNetworkTarget, parsePorts, rangeEndpoints, rangeHosts } from './address.ts';

describe('network target parsing', () => {
  it('parses hosts with port ranges, CIDRs and IPv6 literals', () => {
    const one = parseNetworkTarget('127.0.0.1:8000-8002', undefined, 100);
    expect(one.ok && [...rangeEndpoints(one.range)]).toEqual([
      { host: '127.0.0.1', port: 8000 },
      { host: '127.0.0.1', port: 8001 },
      { host: '127.0.0.1', port: 8002 },
    ]);
    const cidr = parseNetworkTarget('10.0.0.0/30', [80], 100);
    expect(cidr.ok && [...rangeEndpoints(cidr.range)].map((e) => e.host)).toEqual(['10.0.0.1', '10.0.0.2']);
    const v6 = parseNetworkTarget('[::1]:9000', undefined, 10);
    expect(v6.ok && [...rangeEndpoints(v6.range)]).toEqual([{ host: '::1', port: 9000 }]);
    const v6cidr = parseNetworkTarget('fd00::/126', ['1-2'], 100);
    expect(v6cidr.ok && v6cidr.range.size).toBe(8);
  });

  it('refuses bad input with a reason, and ranges above the maximum before expanding them', () => {
    expect(parseNetworkTarget('127.0.0.1', undefined, 10)).toEqual({ ok: false, message: 'no ports given for `127.0.0.1`' });
    expect(parseNetworkTarget('127.0.0.1:0', undefined, 10)).toMatchObject({ ok: false });
    expect(parseNetworkTarget('127.0.0.1:9-3', undefined, 10)).toMatchObject({ ok: false, message: 'invalid port range `9-3`' });
    expect(parseNetworkTarget('300.1.1.1/8', [80], 10)).toMatchObject({ ok: false, message: 'invalid CIDR `300.1.1.1/8`' });
    expect(parseNetworkTarget('a b', [80], 10)).toMatchObject({ ok: false });
    const huge = parseNetworkTarget('::/0', ['1-65535'], 1_000_000);
    expect(huge).toMatchObject({ ok: false });
    expect(!huge.ok && huge.message).toMatch(/more than the configured maximum 1000000/);
  });

  it('never yields more endpoints than it reports, all within the CIDR (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 255 }),
        fc.integer({ min: 24, max: 32 }),
        fc.integer({ min: 1, max: 65535 }),
        fc.integer({ min: 0, max: 5 }),
        (octet, prefix, port, extra) => {
          const hi = Math.min(65535, port + extra);
          const r = parseNetworkTarget(`10.${octet}.7.9/${prefix}`, [`${port}-${hi}`], 10_000);
          if (!r.ok) return;
          const endpoints = [...rangeEndpoints(r.range)];
          expect(endpoints.length).toBe(r.range.size);
          for (const e of endpoints) expect(ipAllowed(e.host, [`10.${octet}.7.9/${prefix}`])).toBe(true);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('parsePorts accepts only 1-65535, deduplicated and sorted (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.integer({ min: -5, max: 70000 }), fc.string({ maxLength: 12 })), { maxLength: 8 }), (specs) => {
        const r = parsePorts(specs);
        if (!r.ok) return;
        expect(r.ports.every((p) => Number.isInteger(p) && p >= 1 && p <= 65535)).toBe(true);
        expect([...r.ports].sort((a, b) => a - b)).toEqual(r.ports);
        expect(new Set(r.ports).size).toBe(r.ports.length);
      }),
      { numRuns: 300 },
    );
  });

  it('checks addresses against allowed CIDRs (IPv4 and IPv6; hostnames never allowed)', () => {
    expect(ipAllowed('127.0.0.1', ['127.0.0.0/8'])).toBe(true);
    expect(ipAllowed('128.0.0.1', ['127.0.0.0/8'])).toBe(false);
    expect(ipAllowed('::1', ['::1/128'])).toBe(true);
    expect(ipAllowed('::2', ['::1/128'])).toBe(false);
    expect(ipAllowed('localhost', ['127.0.0.0/8'])).toBe(false);
    expect(parseCidr('192.168.1.77/24')).toEqual({ family: 4, network: (192n << 24n) | (168n << 16n) | (1n << 8n), prefix: 24 });
  });
});

describe('addresses through ipaddr.js', () => {
  const v4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((o) => o.join('.'));
  const asNumber = (ip: string) => ip.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);

  it('reads standard literals only, mapped and zoned IPv6 included', () => {
    expect(parseIp('10')).toBeUndefined();
    expect(parseIp('010.0.0.1')).toBeUndefined();
    expect(parseIp('::ffff:1.2.3.4')).toEqual({ family: 6, value: 0xffff01020304n });
    expect(parseIp('fe80::1%eth0')).toEqual({ family: 6, value: (0xfe80n << 112n) | 1n });
    expect(parseCidr('10.1.2.3/8')).toEqual({ family: 4, network: 10n << 24n, prefix: 8 });
    expect(parseCidr('10.0.0.0/33')).toBeUndefined();
    expect(parseCidr('2001:db8::1/32')).toEqual({ family: 6, network: 0x20010db8n << 96n, prefix: 32 });
  });

  it('admits an IPv4 address exactly when its masked value is the network of the CIDR', () => {
    fc.assert(
      fc.property(v4, v4, fc.integer({ min: 0, max: 32 }), (ip, net, prefix) => {
        const size = 2 ** (32 - prefix);
        const inside = Math.floor(asNumber(ip) / size) === Math.floor(asNumber(net) / size);
        return ipAllowed(ip, [`${net}/${prefix}`]) === inside;
      }),
    );
    expect(ipAllowed('::1', ['127.0.0.0/8'])).toBe(false);
    expect(ipAllowed('2001:db8::5', ['2001:db8::/64'])).toBe(true);
    expect(ipAllowed('localhost', ['0.0.0.0/0'])).toBe(false);
  });

  it('expands an IPv6 block in canonical text', () => {
    const r = parseNetworkTarget('2001:db8::/126', [80], 100);
    expect(r.ok && [...rangeHosts(r.range.hosts)]).toEqual(['2001:db8::', '2001:db8::1', '2001:db8::2', '2001:db8::3']);
  });
});
