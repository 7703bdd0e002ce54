/**
 * Kubernetes resource quantities, as written in a pod's limits (`500m`, `2`, `512Mi`, `1G`),
 * so that the cost settings can be copied from a manifest unchanged.
 */

/** CPU quantity to cores: `500m` → 0.5, `2` → 2. Undefined when malformed or not positive. */
export function parseCpuQuantity(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)(m?)$/.exec(text.trim());
  if (!match) return undefined;
  const cores = Number(match[1]) / (match[2] === 'm' ? 1000 : 1);
  return cores > 0 ? cores : undefined;
}

const MEMORY_UNITS: Record<string, number> = {
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  Ki: 1024,
  Mi: 1024 ** 2,
  Gi: 1024 ** 3,
  Ti: 1024 ** 4,
};

/** Memory quantity to GiB: `512Mi` → 0.5, `1G` → 0.931. Undefined when malformed or not positive. */
export function parseMemoryQuantityGiB(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)(k|M|G|T|Ki|Mi|Gi|Ti)?$/.exec(text.trim());
  if (!match) return undefined;
  const bytes = Number(match[1]) * (MEMORY_UNITS[match[2] ?? ''] ?? 1);
  return bytes > 0 ? bytes / 1024 ** 3 : undefined;
}
