/** Canonical JSON for the hash chain: the one implementation, in `@argus/contracts` (RFC 8785 for JSON values). */
export { canonicalJson } from '@argus/contracts/canonical-json';
