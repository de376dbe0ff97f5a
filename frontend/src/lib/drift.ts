import type { DriftItem } from '../api'

/** yamlScalar quotes s when a plain YAML scalar would not read back as s. */
function yamlScalar(s: string): string {
  return /^[A-Za-z0-9_/.~-][A-Za-z0-9_/.~ -]*$/.test(s) && !s.endsWith(' ') ? s : JSON.stringify(s)
}

/**
 * ignoreRule is the berth.yaml snippet that stops Berth reporting the
 * field of it (drift.ignore with service and JSON Pointer path).
 */
export function ignoreRule(it: DriftItem): string {
  const lines = ['drift:', '  ignore:']
  if (it.service) lines.push(`    - service: ${yamlScalar(it.service)}`, `      path: ${yamlScalar(it.path)}`)
  else lines.push(`    - path: ${yamlScalar(it.path)}`)
  return lines.join('\n') + '\n'
}
