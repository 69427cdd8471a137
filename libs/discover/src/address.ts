/**
 * Network target parsing: hosts, CIDR ranges and port ranges, expanded lazily into endpoints.
 * A target larger than the configured maximum is refused before anything is probed.
 */
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';
import type { Endpoint } from './types.ts';

/** A parsed network target: the hosts and ports it covers, and how many endpoints that makes. */
export interface NetworkRange {
  /** Canonical host list source: a single host, or a CIDR expanded on demand. */
  hosts: HostRange;
  ports: number[];
  /** hosts × ports. */
  size: number;
}

/** A single host (IP literal or name) or the addresses of a CIDR block. */
export type HostRange = { type: 'single'; host: string } | { type: 'cidr'; family: 4 | 6; first: bigint; count: bigint; cidr: string };

/** Why a target was refused. Returned as a value: a bad target is expected input, not a fault. */
export type RangeResult = { ok: true; range: NetworkRange } | { ok: false; message: string };

const PORT_RANGE = /^(\d{1,5})(?:-(\d{1,5}))?$/;

/** Parses `8000`, `8000-8100` (and numbers) into a sorted, de-duplicated port list. */
export function parsePorts(specs: ReadonlyArray<number | string>): { ok: true; ports: number[] } | { ok: false; message: string } {
  const set = new Set<number>();
  for (const spec of specs) {
    const m = PORT_RANGE.exec(String(spec).trim());
    if (!m) return { ok: false, message: `invalid port \`${String(spec)}\`` };
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    if (lo < 1 || hi > 65535 || lo > hi) return { ok: false, message: `invalid port range \`${String(spec)}\`` };
    if (hi - lo + 1 + set.size > 65535) return { ok: false, message: 'too many ports' };
    for (let p = lo; p <= hi; p++) set.add(p);
  }
  return { ok: true, ports: [...set].sort((a, b) => a - b) };
}

/** Splits `host`, `host:ports`, `[v6]:ports`, `cidr` or `cidr:ports` into its host part and port spec. */
function splitAddress(address: string): { host: string; portSpec?: string } {
  const a = address.trim();
  if (a.startsWith('[')) {
    const end = a.indexOf(']');
    if (end < 0) return { host: a };
    const rest = a.slice(end + 1);
    return rest.startsWith(':') ? { host: a.slice(1, end), portSpec: rest.slice(1) } : { host: a.slice(1, end) };
  }
  const colons = a.split(':').length - 1;
  if (colons === 1) {
    const [host, portSpec] = a.split(':') as [string, string];
    return { host, portSpec };
  }
  return { host: a };
}

/** An address as one number: the CIDR arithmetic of lazy range expansion works on it. */
function toBigInt(address: ipaddr.IPv4 | ipaddr.IPv6): bigint {
  return address.toByteArray().reduce((acc, byte) => (acc << 8n) | BigInt(byte), 0n);
}

/** Parses an IP literal into its family and numeric value, or undefined when `ip` is not one. */
export function parseIp(ip: string): { family: 4 | 6; value: bigint } | undefined {
  // `isIP` first: it accepts only the standard forms (ipaddr.js would also read `10`, `0x0a.1` or octal).
  const family = isIP(ip);
  if (family !== 4 && family !== 6) return undefined;
  return { family, value: toBigInt(ipaddr.parse(ip)) };
}

/** The address `value` of `family` in its canonical text (RFC 5952 for IPv6). */
function formatIp(family: 4 | 6, value: bigint): string {
  const bytes: number[] = [];
  for (let i = 0, v = value; i < (family === 4 ? 4 : 16); i++, v >>= 8n) bytes.unshift(Number(v & 0xffn));
  return ipaddr.fromByteArray(bytes).toString();
}

/** Parses `a.b.c.d/n` or `v6/n`; undefined when `text` is not a CIDR. */
export function parseCidr(text: string): { family: 4 | 6; network: bigint; prefix: number } | undefined {
  const slash = text.indexOf('/');
  if (slash < 0) return undefined;
  const ip = parseIp(text.slice(0, slash));
  const prefixText = text.slice(slash + 1);
  if (!ip || !/^\d{1,3}$/.test(prefixText)) return undefined;
  const prefix = Number(prefixText);
  if (prefix > (ip.family === 4 ? 32 : 128)) return undefined;
  const kind = ip.family === 4 ? ipaddr.IPv4 : ipaddr.IPv6;
  return { family: ip.family, network: toBigInt(kind.networkAddressFromCIDR(`${text.slice(0, slash).split('%')[0]}/${prefix}`)), prefix };
}

/** True when the IP literal `ip` lies in one of `cidrs` (hostnames are never allowed). */
export function ipAllowed(ip: string, cidrs: readonly string[]): boolean {
  const parsed = parseIp(ip);
  if (!parsed) return false;
  const address = ipaddr.parse(ip);
  return cidrs.some((c) => {
    const text = c.includes('/') ? c : `${c}/${parsed.family === 4 ? 32 : 128}`;
    const cidr = parseCidr(text);
    if (!cidr || cidr.family !== parsed.family) return false;
    return address.match(ipaddr.parse(text.slice(0, text.indexOf('/'))), cidr.prefix);
  });
}

/**
 * Parses a network target (`127.0.0.1:8000-8100`, `10.0.0.0/28`, `[::1]:9000`, `localhost`) with the
 * configured extra `ports`, and refuses it when it covers more than `maxEndpoints` endpoints.
 */
export function parseNetworkTarget(address: string, ports: ReadonlyArray<number | string> | undefined, maxEndpoints: number): RangeResult {
  const { host, portSpec } = splitAddress(address);
  if (host.length === 0) return { ok: false, message: `invalid address \`${address}\`` };
  const specs = [...(portSpec ? portSpec.split(',') : []), ...(ports ?? [])];
  if (specs.length === 0) return { ok: false, message: `no ports given for \`${address}\`` };
  const parsedPorts = parsePorts(specs);
  if (!parsedPorts.ok) return parsedPorts;

  let hosts: HostRange;
  let hostCount: bigint;
  if (host.includes('/')) {
    const cidr = parseCidr(host);
    if (!cidr) return { ok: false, message: `invalid CIDR \`${host}\`` };
    const bits = cidr.family === 4 ? 32 : 128;
    const total = 1n << BigInt(bits - cidr.prefix);
    // Skip the network and broadcast addresses of IPv4 blocks larger than /31.
    const trim = cidr.family === 4 && total > 2n;
    hosts = {
      type: 'cidr',
      family: cidr.family,
      first: trim ? cidr.network + 1n : cidr.network,
      count: trim ? total - 2n : total,
      cidr: host,
    };
    hostCount = hosts.count;
  } else if (parseIp(host) || /^[A-Za-z0-9]([A-Za-z0-9.-]{0,252})$/.test(host)) {
    hosts = { type: 'single', host };
    hostCount = 1n;
  } else {
    return { ok: false, message: `invalid host \`${host}\`` };
  }
  const size = hostCount * BigInt(parsedPorts.ports.length);
  if (size > BigInt(maxEndpoints)) {
    return { ok: false, message: `target \`${address}\` covers ${size} endpoints, more than the configured maximum ${maxEndpoints}` };
  }
  return { ok: true, range: { hosts, ports: parsedPorts.ports, size: Number(size) } };
}

/** Every host of the range, in order. */
export function* rangeHosts(hosts: HostRange): Generator<string> {
  if (hosts.type === 'single') {
    yield hosts.host;
    return;
  }
  for (let i = 0n; i < hosts.count; i++) yield formatIp(hosts.family, hosts.first + i);
}

/** Every endpoint of the range, host-major. */
export function* rangeEndpoints(range: NetworkRange): Generator<Endpoint> {
  for (const host of rangeHosts(range.hosts)) for (const port of range.ports) yield { host, port };
}
