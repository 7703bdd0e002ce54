/** Reads samples out of Prometheus exposition text, for assertions on `/metrics`. */

export interface TextSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const LABEL = /(\w+)="((?:[^"\\]|\\.)*)"/g;
/** One pass, so an escaped backslash followed by `n` stays a backslash and an `n`. */
const unescape = (v: string): string => v.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));

export function parseMetricsText(text: string): { samples: TextSample[]; families: Map<string, string> } {
  const samples: TextSample[] = [];
  const families = new Map<string, string>();
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type?.[1] && type[2]) families.set(type[1], type[2]);
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)$/.exec(line);
    if (!m?.[1] || !m[3]) throw new Error(`unparseable metrics line: ${line}`);
    const labels = Object.fromEntries([...(m[2] ?? '').matchAll(LABEL)].map((l) => [l[1] ?? '', unescape(l[2] ?? '')]));
    samples.push({ name: m[1], labels, value: m[3] === '+Inf' ? Infinity : Number(m[3]) });
  }
  return { samples, families };
}

/** The one sample of `name` whose labels include `labels`; undefined when none, throws when several. */
export function sampleValue(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const found = parseMetricsText(text).samples.filter(
    (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
  if (found.length > 1) throw new Error(`${found.length} samples of ${name} match ${JSON.stringify(labels)}`);
  return found[0]?.value;
}

/** Sum of the samples of `name` whose labels include `labels`. */
export function sampleSum(text: string, name: string, labels: Record<string, string> = {}): number {
  return parseMetricsText(text)
    .samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((total, s) => total + s.value, 0);
}
