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

const pad = (n) => String(n).padStart(2, '0');

/** The local time zone as an offset, `+01:00` / `-05:30` (`+00:00` for UTC). */
export function zone(d = new Date()) {
  const minutes = -d.getTimezoneOffset();
  const sign = minutes < 0 ? '-' : '+';
  const abs = Math.abs(minutes);
  return `${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}

/**
 * The one date format of the console: ISO-like, in the local time zone, with the zone shown
 * (`2026-12-06 21:13:39 +01:00`). Every page uses it, so no two timestamps read differently.
 */
export function when(iso) {
  if (!iso) return '—';
  const d = iso instanceof Date ? iso : new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())} ${zone(d)}`;
}

/** Kept for the pages' tables: the same format as `when`. */
export const clock = when;

/** `1 tool`, `3 tools`. */
export function plural(n, noun, many = `${noun}s`) {
  return `${n} ${n === 1 ? noun : many}`;
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
