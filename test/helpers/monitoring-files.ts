/**
 * The monitoring files as Prometheus sees them: the PrometheusRule's groups as a plain rule
 * file (what promtool and a bare Prometheus read), and every PromQL expression of the rules
 * and of the Grafana dashboard, with Grafana's variables given test values.
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parse, stringify } from 'yaml';
import { ROOT } from './cli.js';

export const RULES_FILE = path.join(ROOT, 'k8s/monitoring/prometheus-rules.yaml');
export const DASHBOARD_FILE = path.join(ROOT, 'k8s/monitoring/grafana-dashboard.json');

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  annotations?: Record<string, string>;
}

export interface PrometheusRule {
  kind: string;
  spec: { groups: { name: string; rules: Rule[] }[] };
}

export interface Expression {
  where: string;
  expr: string;
}

interface Panel {
  title?: string;
  targets?: { expr?: string }[];
  panels?: Panel[];
}

export async function readRules(): Promise<PrometheusRule> {
  return parse(await readFile(RULES_FILE, 'utf8')) as PrometheusRule;
}

/** Writes the PrometheusRule's groups as a plain rule file; returns its path. */
export async function writeRuleFile(dir: string): Promise<string> {
  const file = path.join(dir, 'batchinfer-rules.yml');
  await writeFile(file, stringify({ groups: (await readRules()).spec.groups }));
  return file;
}

export async function ruleExpressions(): Promise<Expression[]> {
  return (await readRules()).spec.groups.flatMap((g) => g.rules.map((r) => ({ where: `rule ${r.alert ?? r.record}`, expr: r.expr })));
}

/** Grafana's built-in variables, with values that suit a Prometheus scraping every second. */
export function withGrafanaVariables(expr: string): string {
  return expr.replaceAll('$__rate_interval', '5s').replaceAll('$__range', '1m').replaceAll('$__interval', '1s');
}

export async function dashboardExpressions(): Promise<Expression[]> {
  const dashboard = JSON.parse(await readFile(DASHBOARD_FILE, 'utf8')) as { panels: Panel[] };
  const out: Expression[] = [];
  const walk = (panels: Panel[]): void => {
    for (const p of panels) {
      for (const t of p.targets ?? []) if (t.expr) out.push({ where: `panel "${p.title}"`, expr: t.expr });
      walk(p.panels ?? []);
    }
  };
  walk(dashboard.panels);
  return out;
}

/** The batchinfer_ series names an expression reads. */
export function metricNames(expr: string): string[] {
  return [...new Set(expr.match(/\bbatchinfer_[a-z_]+\b/g) ?? [])];
}
