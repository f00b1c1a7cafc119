/**
 * What the browser tests share: Debian's Chromium driven by playwright-core, a phone-sized context, a
 * fresh build of the web pages when the sources changed, and screenshots for the docs.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const webDir = join(root, 'packages', 'web');

export const CHROMIUM = process.env.SEMOPS_CHROMIUM ?? '/usr/bin/chromium';
export const HAVE_CHROMIUM = existsSync(CHROMIUM);

/** Why the browser tests do not run here, or undefined when they do. Under CI a missing Chromium fails. */
export function skipReason(): string | undefined {
  if (HAVE_CHROMIUM) return undefined;
  const msg = `Chromium not found at ${CHROMIUM}: install it with \`apt-get install -y chromium\` (or set SEMOPS_CHROMIUM).`;
  if (process.env.CI === 'true') throw new Error(`Browser tests cannot run under CI: ${msg}`);
  return `Skipping the browser tests. ${msg}`;
}

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

export function launchChromium(extraArgs: string[] = []): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [...CHROMIUM_ARGS, ...extraArgs],
  });
}

/** A phone: 390×844 CSS pixels at 2× density, touch, English. */
export function phoneContext(browser: Browser): Promise<BrowserContext> {
  return browser.newContext({
    viewport: { width: 390, height: 844 },
    deviceScaleFactor: 2,
    isMobile: true,
    hasTouch: true,
    locale: 'en-US',
    timezoneId: 'Europe/Vienna',
  });
}

function newestMtime(path: string): number {
  const s = statSync(path);
  if (!s.isDirectory()) return s.mtimeMs;
  let newest = 0;
  for (const name of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, name)));
  return newest;
}

/** Builds packages/web (vite) when its build is missing or older than its sources. */
export function ensureWebBuilt(): void {
  const built = join(webDir, 'dist', 'index.html');
  const sources = [
    'src',
    'public',
    'index.html',
    'wallet.html',
    'pos.html',
    'simulator.html',
    'vite.config.ts',
  ]
    .map((p) => join(webDir, p))
    .concat(join(root, 'packages', 'protocol', 'src'));
  const newest = Math.max(...sources.filter((p) => existsSync(p)).map(newestMtime));
  if (existsSync(built) && statSync(built).mtimeMs >= newest) return;
  const r = spawnSync('npm', ['run', 'build', '-w', '@semops/web'], { cwd: root, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`building packages/web failed:\n${r.stdout}\n${r.stderr}`);
}

/**
 * Where screenshots go: docs/screenshots when UPDATE_SCREENSHOTS=1 (to refresh the docs), otherwise a
 * temporary folder (they are still taken, so a page that cannot render fails the test).
 */
export const SCREENSHOT_DIR =
  process.env.UPDATE_SCREENSHOTS === '1'
    ? join(root, 'docs', 'screenshots')
    : join(tmpdir(), 'semops-screenshots');

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  // Let fonts, canvases and transitions settle so the picture shows what a person sees.
  await page.mouse.move(0, 0);
  await page.evaluate(() => document.fonts.ready);
  await page.screenshot({ path: join(SCREENSHOT_DIR, `${name}.png`), animations: 'disabled' });
}

/** True when the page fits a `width`-pixel-wide screen without scrolling sideways. */
export async function fitsWidth(page: Page, width: number): Promise<boolean> {
  const before = page.viewportSize();
  await page.setViewportSize({ width, height: before?.height ?? 740 });
  const fits = await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);
  if (before) await page.setViewportSize(before);
  return fits;
}

/**
 * The phones of one test file: each a fresh browser context of a phone's size, whose pages' console errors
 * are kept (a Content-Security-Policy violation shows there). Close them in `afterAll`.
 */
export function phones(browser: () => Browser) {
  const contexts: BrowserContext[] = [];
  const consoleErrors: string[] = [];
  return {
    consoleErrors,
    /** A page on a new phone. */
    async open(): Promise<Page> {
      const ctx = await phoneContext(browser());
      contexts.push(ctx);
      const page = await ctx.newPage();
      page.on('console', (m) => {
        if (m.type() === 'error') consoleErrors.push(m.text());
      });
      return page;
    },
    /** The console errors that report a Content-Security-Policy violation. */
    cspViolations: () => consoleErrors.filter((e) => /Content Security Policy/i.test(e)),
    async closeAll(): Promise<void> {
      for (const c of contexts) await c.close().catch(() => undefined);
    },
  };
}

/** Types a PIN on the wallet's PIN pad, digit by digit. */
export async function typePin(page: Page, pin: string): Promise<void> {
  for (const d of pin) await page.getByRole('button', { name: d, exact: true }).click();
}
