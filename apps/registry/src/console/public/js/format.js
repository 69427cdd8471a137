// Formatting shared by the pages.

/** `Type::"id"` for an entity reference. */
export function uid(ref) {
  if (!ref) return '';
  return `${ref.type}::"${ref.id}"`;
}

/** The short label of a reference: its id, with the type when it is not an agent. */
export function label(ref) {
  if (!ref) return '';
  const type = String(ref.type).replace(/^Argus::/, '');
  return type === 'Agent' ? ref.id : `${type} ${ref.id}`;
}

/** `hh:mm:ss` local time. */
export function clock(iso) {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? '' : d.toLocaleTimeString([], { hour12: false });
}

/** Date and time, compact. */
export function when(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? String(iso) : `${d.toLocaleDateString()} ${d.toLocaleTimeString([], { hour12: false })}`;
}

/** "3 min ago" / "in 2 h". */
export function relative(iso, now = Date.now()) {
  if (!iso) return '—';
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return String(iso);
  const diff = t - now;
  const abs = Math.abs(diff);
  const units = [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['min', 60_000],
    ['s', 1000],
  ];
  for (const [unit, ms] of units) {
    if (abs >= ms || unit === 's') {
      const n = Math.round(abs / ms);
      return diff < 0 ? `${n} ${unit} ago` : `in ${n} ${unit}`;
    }
  }
  return '';
}

/** A percentage with one decimal. */
export function percent(part, whole) {
  if (!whole) return '0%';
  return `${((100 * part) / whole).toFixed(1)}%`;
}

/** Milliseconds, readable at every scale. */
export function millis(ms) {
  if (ms === undefined || ms === null || Number.isNaN(ms)) return '—';
  if (ms < 1) return `${(ms * 1000).toFixed(0)} µs`;
  if (ms < 100) return `${ms.toFixed(2)} ms`;
  return `${ms.toFixed(0)} ms`;
}

/** The delegation chain of an audit record as `alice → planner → bot`. */
export function chain(record) {
  const hops = record.delegation ?? [];
  if (hops.length === 0) return '—';
  return hops.map((h) => h.id).join(' → ');
}
