/**
 * The exporter's built-in page (`GET /`), for people without Grafana: queue depth over time,
 * wait p50/p95, failure rate, live consumers, batches in progress, cost by team. Its HTML,
 * CSS and JS are real files in `./page/` beside this module; the build copies that folder
 * beside the compiled module (`dist/exporter/page/`) and beside the bundle's chunks
 * (`dist/bundle/page/`), so the same relative URL finds them from `src/` (tests), `dist/`
 * (benches) and the bundle (the image). They are read once, at first request.
 */
import { readFile } from 'node:fs/promises';

export interface PageFile {
  contentType: string;
  body: Buffer;
}

/** URL path → file name in `./page/` and its content type. */
const FILES: Readonly<Record<string, readonly [string, string]>> = {
  '/': ['index.html', 'text/html; charset=utf-8'],
  '/page/dashboard.css': ['dashboard.css', 'text/css; charset=utf-8'],
  '/page/dashboard.js': ['dashboard.js', 'text/javascript; charset=utf-8'],
};

/** The page loads nothing from elsewhere and runs no inline script or style: say so to the browser. */
export const PAGE_CONTENT_SECURITY_POLICY =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

export const PAGE_PATHS: readonly string[] = Object.keys(FILES);

export class DashboardPage {
  private files: Promise<Map<string, PageFile>> | undefined;

  constructor(private readonly dir: URL = new URL('./page/', import.meta.url)) {}

  /** The file served at `path`, or undefined for a path that is not the page's. */
  async file(path: string): Promise<PageFile | undefined> {
    this.files ??= this.load();
    try {
      return (await this.files).get(path);
    } catch (err) {
      this.files = undefined; // a later request tries again
      throw err;
    }
  }

  private async load(): Promise<Map<string, PageFile>> {
    const entries = await Promise.all(
      Object.entries(FILES).map(
        async ([path, [name, contentType]]) => [path, { contentType, body: await readFile(new URL(name, this.dir)) }] as const,
      ),
    );
    return new Map(entries);
  }
}
