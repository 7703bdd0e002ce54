/** promtool (Debian `prometheus` package): lints exposition text and checks rule files. */
import { spawn } from 'node:child_process';

export interface PromtoolResult {
  code: number | null;
  output: string;
}

export function promtool(args: string[], stdin?: string): Promise<PromtoolResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('promtool', args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (output += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (output += d));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, output }));
    child.stdin.end(stdin ?? '');
  });
}

/** `promtool check metrics` on exposition text: exit 0 and no lint finding. */
export const checkMetrics = (text: string): Promise<PromtoolResult> => promtool(['check', 'metrics'], text);

export const checkRules = (file: string): Promise<PromtoolResult> => promtool(['check', 'rules', file]);
