/** bytes formats a size in bytes ("12 KiB", "1.5 GiB"). */
export function bytes(n: number | undefined): string {
  if (n === undefined || n === null || Number.isNaN(n)) return '—'
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
  let v = n
  let i = 0
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024
    i++
  }
  return i === 0 ? `${v} B` : `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[i]}`
}
