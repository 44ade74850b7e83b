import type { Browser, Page } from 'playwright-core';
import type { NetworkSnapshot } from '../../src/dashboard/types.js';
import type { LocalHttpServer } from '../../src/http/localHttpServer.js';
import { describe, test, expect, beforeAll, afterAll } from '@jest/globals';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { PNG } from 'pngjs';
import { serveDashboard } from '../../src/dashboard/serveDashboard.js';
import { pathColours } from '../../src/dashboard/page.js';
import * as errors from '../../src/errors.js';

/**
 * The dashboard end to end in headless Chromium (Debian's `chromium`,
 * driven by playwright-core). Without a Chromium the tests skip and say
 * so, except in CI (`CI` set), where they fail: CI installs it.
 */
const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const haveChromium = fs.existsSync(chromiumPath);
const browserTest = haveChromium || process.env.CI ? test : test.skip;
const missing = `${chromiumPath} is missing: ${process.env.CI ? 'FAILING (CI must have it)' : 'skipping'} the dashboard browser tests (apt-get install chromium)`;
// Straight to stderr: jest does not show a skipped suite's console.
if (!haveChromium) process.stderr.write(`\n${missing}\n`);
const artifacts = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'artifacts');

function base(): NetworkSnapshot {
  return {
    time: Date.UTC(2026, 10, 30, 12, 0, 0),
    source: 'chaosnet',
    title: 'four nodes, every path',
    nodes: [
      {
        id: 'vaaaa-public',
        label: 'A (public)',
        nat: 'none',
        up: true,
        relay: true,
        addresses: ['198.51.100.1:1314'],
      },
      { id: 'vbbbb-cone', label: 'B', nat: 'full-cone', up: true },
      { id: 'vcccc-sym', label: 'C', nat: 'symmetric', up: true },
      { id: 'vdddd-blocked', label: 'D', nat: 'port-restricted', up: false },
    ],
    links: [
      { a: 'vaaaa-public', b: 'vbbbb-cone', path: 'direct' },
      { a: 'vbbbb-cone', b: 'vcccc-sym', path: 'punched' },
      { a: 'vcccc-sym', b: 'vdddd-blocked', path: 'relayed', via: 'vaaaa-public' },
      { a: 'vdddd-blocked', b: 'vaaaa-public', path: 'http-relay' },
      { a: 'vaaaa-public', b: 'vnobody', path: 'direct' },
    ],
    events: [
      {
        time: Date.UTC(2026, 10, 30, 11, 59, 58),
        kind: 'dial-result',
        text: 'A dialled B: ok',
        level: 'info',
      },
      {
        time: Date.UTC(2026, 10, 30, 11, 59, 59),
        kind: 'punch',
        text: 'B punched C after 3 datagrams',
      },
      {
        time: Date.UTC(2026, 10, 30, 12, 0, 0),
        kind: 'inbound-rejected',
        text: '<img src=x onerror="window.__pwned = 1"><script>window.__pwned = 2</script>',
        level: 'warn',
      },
    ],
    stats: { connections: 4, 'relay circuits': 1 },
  };
}

function hex(c: string): [number, number, number] {
  return [1, 3, 5].map((i) => parseInt(c.slice(i, i + 2), 16)) as [number, number, number];
}

/** Pixels of the PNG within `tolerance` of each colour. */
function countColours(
  png: PNG,
  colours: Record<string, string>,
  tolerance = 3,
): Record<string, number> {
  const out: Record<string, number> = {};
  const targets = Object.entries(colours).map(([k, c]) => [k, hex(c)] as const);
  for (const [k] of targets) out[k] = 0;
  for (let i = 0; i < png.data.length; i += 4) {
    for (const [k, [r, g, b]] of targets) {
      if (
        Math.abs(png.data[i] - r) <= tolerance &&
        Math.abs(png.data[i + 1] - g) <= tolerance &&
        Math.abs(png.data[i + 2] - b) <= tolerance
      ) {
        out[k]++;
      }
    }
  }
  return out;
}

describe(`dashboard in headless Chromium${haveChromium ? '' : ` (${missing})`}`, () => {
  let browser: Browser | undefined;
  let server: LocalHttpServer | undefined;
  let current: NetworkSnapshot | Error = base();

  beforeAll(async () => {
    if (!haveChromium) return;
    browser = await chromium.launch({ executablePath: chromiumPath });
    server = await serveDashboard({
      port: 0,
      snapshot: () => {
        if (current instanceof Error) throw current;
        return current;
      },
    });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  async function open(): Promise<{ page: Page; requests: Array<string> }> {
    if (!haveChromium || browser == null || server == null) {
      throw new Error(`${chromiumPath} is missing: CI must install chromium (see .ci/run)`);
    }
    const page = await browser.newPage({
      viewport: { width: 1300, height: 900 },
      deviceScaleFactor: 1,
    });
    const requests: Array<string> = [];
    page.on('request', (r) => requests.push(r.url()));
    const res = await page.goto(`${server.url}/`);
    expect(res?.status()).toBe(200);
    expect(res?.headers()['content-security-policy']).toMatch(/connect-src 'self'/);
    return { page, requests };
  }

  browserTest(
    'draws nodes, links coloured by path, the legend and events; the screenshot shows every path colour',
    async () => {
      current = base();
      const { page, requests } = await open();
      await page.waitForSelector(`#status[data-time="${base().time}"]`);
      expect(await page.textContent('#title')).toBe('four nodes, every path');
      expect(await page.locator('#graph g.node').count()).toBe(4);
      expect(await page.locator('#graph g.node.down').count()).toBe(1);
      expect(await page.locator('#graph g.node.relay .relay-ring').count()).toBe(1);
      expect(await page.locator('#graph g.node text.nat').allTextContents()).toEqual([
        'NAT: none',
        'NAT: full-cone',
        'NAT: symmetric',
        'NAT: port-restricted',
      ]);
      // The link to an unknown node is left out.
      const links = await page.$$eval('#graph line.link', (ls) =>
        ls.map((l) => [l.getAttribute('data-path'), l.getAttribute('stroke')]),
      );
      expect(links).toEqual(Object.entries(pathColours));
      expect(await page.locator('#legend li').count()).toBe(4);
      const events = page.locator('#events li');
      expect(await events.count()).toBe(3);
      // Newest first; hostile text is shown as text, never run.
      expect(await events.first().getAttribute('class')).toBe('event level-warn');
      expect(await events.first().locator('.text').textContent()).toBe(base().events[2].text);
      expect(await page.evaluate(() => (window as any).__pwned)).toBeUndefined();
      expect(await page.textContent('#stats')).toMatch(/relay circuits1/);

      fs.mkdirSync(artifacts, { recursive: true });
      await page.screenshot({ path: path.join(artifacts, 'dashboard.png'), fullPage: true });
      const box = (await page.locator('#graph').boundingBox())!;
      const shot = PNG.sync.read(await page.locator('#graph').screenshot());
      fs.writeFileSync(path.join(artifacts, 'dashboard-graph.png'), PNG.sync.write(shot));
      // The element's box, out to whole pixels.
      expect(shot.width).toBe(Math.ceil(box.x + box.width) - Math.floor(box.x));
      expect(shot.height).toBe(Math.ceil(box.y + box.height) - Math.floor(box.y));
      expect(shot.width).toBeGreaterThan(500);
      const counts = countColours(shot, { ...pathColours, white: '#ffffff' }, 3);
      for (const p of Object.keys(pathColours)) expect(counts[p]).toBeGreaterThan(100);
      // Not blank: most of it is the white canvas, not all.
      expect(counts.white).toBeLessThan(shot.width * shot.height * 0.99);
      expect(counts.white).toBeGreaterThan(shot.width * shot.height * 0.5);
      // Nothing was fetched but the page and its snapshots.
      expect(requests.every((u) => u.startsWith(server!.url))).toBe(true);
      await page.close();
    },
    60_000,
  );

  browserTest(
    'follows live changes, shows a failing source, and recovers',
    async () => {
      current = base();
      const { page } = await open();
      await page.waitForSelector(`#status[data-time="${base().time}"]`);
      const next = base();
      next.time += 5_000;
      next.nodes.push({ id: 'veeee-new', label: 'E', up: true, nat: 'restricted' });
      next.links.push({ a: 'veeee-new', b: 'vaaaa-public', path: 'punched' });
      next.events.push({ time: next.time, kind: 'connection-open', text: 'E joined' });
      current = next;
      await page.waitForSelector(`#status[data-time="${next.time}"]`, { timeout: 5_000 });
      expect(await page.locator('#graph g.node').count()).toBe(5);
      expect(await page.locator('#graph line.link[data-path="punched"]').count()).toBe(2);
      expect(await page.locator('#events li').first().textContent()).toMatch(
        /connection-open\s*E joined/,
      );
      current = new errors.ErrorSnapshotSource('the agent went away');
      await page.waitForSelector('#status.error', { timeout: 5_000 });
      expect(await page.textContent('#status')).toMatch(/HTTP 502.*the agent went away/);
      // The last picture stays while the source is down.
      expect(await page.locator('#graph g.node').count()).toBe(5);
      current = base();
      await page.waitForSelector(`#status.ok[data-time="${base().time}"]`, { timeout: 5_000 });
      expect(await page.locator('#graph g.node').count()).toBe(4);
      await page.close();
    },
    60_000,
  );
});
