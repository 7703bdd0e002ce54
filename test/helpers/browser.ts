/**
 * Headless Chromium (the Debian `chromium` package, installed by scripts/setup.sh) driven by
 * playwright-core, with a fresh profile per launch and no network beyond what the page asks.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import type { BrowserContext, Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

export interface TestBrowser {
  page: Page;
  context: BrowserContext;
  close(): Promise<void>;
}

/** `timezoneId` (an IANA zone) is the zone the page's clock runs in; the machine's own by default. */
export async function launchBrowser(options: { timezoneId?: string } = {}): Promise<TestBrowser> {
  const profile = await mkdtemp(path.join(os.tmpdir(), 'bi-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    viewport: { width: 1280, height: 1000 },
    ...options,
  });
  const page = context.pages()[0] ?? (await context.newPage());
  return {
    page,
    context,
    async close() {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}
