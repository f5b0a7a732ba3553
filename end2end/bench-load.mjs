// First-load benchmark (issue 16): each role's home loaded cold in headless Chromium on a
// throttled "phone" profile, reporting the bytes sent by type and the time to hydrated.
// Run by scripts/bench-load.sh, which starts the release server and sets BAEDAL_URL. Pages: the
// customer's home and a store's page, the owner's order board and menu page, the rider's home.
//
//   BAEDAL_URL=http://127.0.0.1:3000 node bench-load.mjs [runs]
//
// Cold: every load is a new browser context (empty HTTP cache, no service worker), signed in
// with the role's session cookie only. Profile (Chrome DevTools Protocol, set before the page
// is asked for): Network.emulateNetworkConditions 10 Mbit/s down and up, 40 ms latency;
// Emulation.setCPUThrottlingRate 4.
//
// Bytes: Network.loadingFinished's encodedDataLength, i.e. what came over the wire (compressed
// body plus response headers), summed by type: HTML (the document), JS, wasm, CSS; everything
// else (server-function answers, icons, manifest) as "other". Requests that finish within a
// second after hydration still count: code fetched right after hydration is part of the load.
//
// Hydrated: the app sets `data-hydrated="true"` on <body> once the page, including a lazily
// loaded route's code, has been hydrated (frontend/src/lib.rs); the time is the page's own
// performance.now() at that moment, i.e. from the start of navigation.
import { chromium, request } from '@playwright/test';

const base = process.env.BAEDAL_URL;
if (!base) throw new Error('BAEDAL_URL is not set (scripts/bench-load.sh sets it)');
const runs = Number(process.argv[2] ?? process.env.BENCH_LOAD_RUNS ?? 5);
const password = 'baedal1234';
const MBIT = 1_000_000 / 8; // bytes per second

async function sessionOf(email) {
  const api = await request.newContext({ baseURL: base });
  const response = await api.post('/api/sign_in', {
    form: { email, password },
    headers: { Accept: 'application/json' },
  });
  if (!response.ok()) throw new Error(`sign-in as ${email}: ${response.status()} ${await response.text()}`);
  const state = await api.storageState();
  await api.dispose();
  return state;
}

function kindOf(url, resourceType) {
  const path = new URL(url).pathname;
  if (resourceType === 'Document') return 'html';
  if (path.endsWith('.wasm')) return 'wasm';
  if (path.endsWith('.js')) return 'js';
  if (path.endsWith('.css')) return 'css';
  return 'other';
}

async function loadOnce(browser, state, path) {
  const context = await browser.newContext({
    storageState: state,
    viewport: { width: 390, height: 844 },
    isMobile: true,
    hasTouch: true,
    locale: 'ko-KR',
  });
  await context.addInitScript(() => {
    new MutationObserver((_, observer) => {
      if (document.body?.dataset.hydrated === 'true') {
        window.__hydratedAt = performance.now();
        observer.disconnect();
      }
    }).observe(document, { attributes: true, subtree: true, attributeFilter: ['data-hydrated'] });
  });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (error) => errors.push(error.message));
  page.on('console', (message) => message.type() === 'error' && errors.push(message.text()));

  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.emulateNetworkConditions', {
    offline: false,
    latency: 40,
    downloadThroughput: 10 * MBIT,
    uploadThroughput: 10 * MBIT,
  });
  await cdp.send('Emulation.setCPUThrottlingRate', { rate: 4 });
  const requests = new Map();
  const bytes = { html: 0, js: 0, wasm: 0, css: 0, other: 0 };
  const files = [];
  cdp.on('Network.requestWillBeSent', (event) => {
    requests.set(event.requestId, { url: event.request.url, type: event.type });
  });
  cdp.on('Network.loadingFinished', (event) => {
    const request = requests.get(event.requestId);
    if (!request) return;
    const kind = kindOf(request.url, request.type);
    bytes[kind] += event.encodedDataLength;
    files.push({ kind, url: new URL(request.url).pathname, bytes: event.encodedDataLength });
  });

  const response = await page.goto(base + path, { waitUntil: 'commit' });
  if (response.status() !== 200) throw new Error(`${path} answered ${response.status()}`);
  await page.waitForFunction(() => window.__hydratedAt !== undefined, null, { timeout: 60_000, polling: 50 });
  const hydratedMs = await page.evaluate(() => window.__hydratedAt);
  // What loads right after hydration (lazily fetched code, data) is part of the first load.
  await page.waitForTimeout(1000);
  await context.close();
  return { bytes, hydratedMs, files, errors, finalPath: new URL(page.url()).pathname };
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};
const kb = (n) => (n / 1000).toFixed(1);

const roles = {
  customer: await sessionOf('customer@baedal.kr'),
  owner: await sessionOf('owner@baedal.kr'),
  rider: await sessionOf('rider@baedal.kr'),
};
// BENCH_LOAD_PAGES=/,/store: only those (to compare with a build that lacks a page).
const only = process.env.BENCH_LOAD_PAGES?.split(',');
const pages = [
  { path: '/', who: 'customer' },
  { path: '/stores/1', who: 'customer' },
  { path: '/store', who: 'owner' },
  { path: '/store/menu', who: 'owner' },
  { path: '/rider', who: 'rider' },
].filter(({ path }) => !only || only.includes(path));

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync'],
});
const rows = [];
const details = [];
for (const { path, who } of pages) {
  const results = [];
  for (let i = 0; i < runs; i++) results.push(await loadOnce(browser, roles[who], path));
  const last = results[results.length - 1];
  if (last.finalPath !== path) throw new Error(`${path} as ${who} ended on ${last.finalPath}`);
  const errors = results.flatMap((r) => r.errors);
  if (errors.length) throw new Error(`${path} as ${who}: page or console errors:\n${errors.join('\n')}`);
  const b = last.bytes;
  const initial = b.html + b.js + b.wasm + b.css;
  const times = results.map((r) => r.hydratedMs);
  rows.push(`| \`${path}\` | ${who} | ${kb(b.html)} | ${kb(b.js)} | ${kb(b.wasm)} | ${kb(b.css)} | **${kb(initial)}** | ${kb(b.other)} | **${Math.round(median(times))}** | ${Math.round(Math.min(...times))}–${Math.round(Math.max(...times))} |`);
  details.push(`${path} (${who}): ${last.files.filter((f) => f.kind !== 'other').map((f) => `${f.url.split('/').pop()} ${kb(f.bytes)}`).join(', ')}`);
}
await browser.close();

console.log(`Cold loads, ${runs} per page; 10 Mbit/s down/up, 40 ms latency, CPU 4x slower (CDP); KB = 1000 bytes as sent.\n`);
console.log('| page | as | HTML KB | JS KB | wasm KB | CSS KB | initial KB | other KB | hydrated ms (median) | range ms |');
console.log('|---|---|---|---|---|---|---|---|---|---|');
for (const row of rows) console.log(row);
console.log('');
for (const line of details) console.log(`- ${line}`);
