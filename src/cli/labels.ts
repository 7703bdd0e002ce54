import { UsageError } from './args.js';

/** `--label team=risk --label project=churn` → `{team: 'risk', project: 'churn'}`. */
export function parseLabels(pairs: string[]): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq < 1) throw new UsageError(`--label expects key=value, got '${pair}'`);
    labels[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return labels;
}
