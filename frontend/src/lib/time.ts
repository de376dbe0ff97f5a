/** ago says how long before now t was, in the largest whole unit ("3 min ago"). */
export function ago(t: string, now: number): string {
  const ms = Date.parse(t)
  if (Number.isNaN(ms)) return '—'
  const s = Math.max(0, Math.floor((now - ms) / 1000))
  if (s < 45) return 'just now'
  const units: [number, string][] = [
    [365 * 86400, 'year'],
    [30 * 86400, 'month'],
    [7 * 86400, 'week'],
    [86400, 'day'],
    [3600, 'hour'],
    [60, 'min'],
  ]
  for (const [secs, name] of units) {
    if (s >= secs) {
      const n = Math.floor(s / secs)
      return `${n} ${name}${n > 1 && name !== 'min' ? 's' : ''} ago`
    }
  }
  return `${s}s ago`
}

/** seconds formats a duration in nanoseconds ("2.5s", "3m 4s"). */
export function seconds(ns: number | undefined): string {
  if (!ns) return '—'
  const s = ns / 1e9
  if (s < 60) return `${s.toFixed(1)}s`
  return `${Math.floor(s / 60)}m ${Math.round(s % 60)}s`
}
