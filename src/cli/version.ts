/**
 * The package version for `batchinfer --version`, read from package.json two folders up:
 * the same depth from src/cli/, dist/cli/ and the bundle's dist/bundle/ (the image copies
 * package.json beside dist/ too).
 */
import { readFileSync } from 'node:fs';

export function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { name?: string; version?: string };
    return pkg.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}
