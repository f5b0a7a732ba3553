import { Browser, BrowserContext, Page } from '@playwright/test';
import { test, expect, hydrated, live, signIn, signedIn } from './helpers';

// Code per role (issue 16): the wasm is split at the lazily loaded pages (`#[lazy_route]`), so
// a customer never downloads the owner's or the rider's pages, and moving to a lazily loaded
// page in the running app fetches its chunk then and there.

type Manifest = Record<string, string[]>;

/** The build's split manifest (split → the chunks it needs), found through the page's script. */
async function manifestOf(page: Page): Promise<{ pkg: string; manifest: Manifest }> {
  const script = await page.locator('link[rel="modulepreload"][href$="/baedal.js"]').getAttribute('href');
  const pkg = script!.replace(/\/baedal\.js$/, '');
  const response = await page.request.get(`${pkg}/__wasm_split_manifest.json`);
  expect(response.ok()).toBeTruthy();
  return { pkg, manifest: await response.json() };
}

/** The chunks that only the splits matching `only` need (not shared with any other split). */
function chunksOnlyFor(manifest: Manifest, only: RegExp): string[] {
  const mine = new Set<string>();
  const others = new Set<string>();
  for (const [split, chunks] of Object.entries(manifest)) {
    for (const chunk of chunks) (only.test(split) ? mine : others).add(chunk);
  }
  return [...mine].filter((chunk) => !others.has(chunk));
}

/** Every path the context's pages fetch from now on; a page load (a new document) is recorded
 *  as `document <path>` (requests of service workers, such as the rider's, are left out). */
function recordFetches(context: BrowserContext): string[] {
  const paths: string[] = [];
  context.on('request', (request) => {
    if (request.serviceWorker()) return;
    const path = new URL(request.url()).pathname;
    paths.push(request.isNavigationRequest() ? `document ${path}` : path);
  });
  return paths;
}

function watchErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(`pageerror: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(`console: ${message.text()}`);
  });
  return errors;
}

/** `path` loaded cold — a new context (empty cache) with `like`'s session (none without
 *  `like`) — and hydrated, every fetch and every console or page error recorded from the start. */
async function openCold(browser: Browser, path: string, like?: Page) {
  const context = await browser.newContext(like ? { storageState: await like.context().storageState() } : {});
  const fetched = recordFetches(context);
  const page = await context.newPage();
  const errors = watchErrors(page);
  await page.goto(path);
  await hydrated(page);
  return { context, page, fetched, errors };
}

test("a customer's cold load of / fetches neither the owner's nor the rider's code; a store's page loads its own on the way", async ({ browser }) => {
  const page = await signedIn(browser, 'customer@baedal.kr', '/');
  const { pkg, manifest } = await manifestOf(page);
  const foreign = [
    ...chunksOnlyFor(manifest, /store_home|store_menu|baedal_owner_/i),
    ...chunksOnlyFor(manifest, /rider_home/i),
  ];
  expect(foreign.length, `owner and rider chunks in ${JSON.stringify(manifest)}`).toBeGreaterThan(0);
  const storePage = chunksOnlyFor(manifest, /store_page/i);
  expect(storePage.length, `the store page's chunks in ${JSON.stringify(manifest)}`).toBeGreaterThan(0);

  // Cold: a new context (empty cache) with the customer's session only.
  const { context, page: cold, fetched, errors } = await openCold(browser, '/', page);
  await expect(cold.getByTestId('store-list')).toContainText('마포 즉석떡볶이');
  await cold.waitForLoadState('networkidle');
  expect(fetched, 'the main module was loaded').toContain(`${pkg}/baedal_bg.wasm`);
  // Every page is lazy, and code two pages share is in the main module: the home is two files.
  const home = Object.entries(manifest).find(([split]) => /customer_home/i.test(split));
  expect(home, `the home's entry in ${JSON.stringify(manifest)}`).toBeTruthy();
  expect(home![1], "the home's own code is one file").toHaveLength(1);
  // Code only the customer's pages past the home share is one more file, which they load and
  // the home does not.
  const filesOf = (name: RegExp) => Object.entries(manifest).find(([split]) => name.test(split))![1];
  const pastHome = filesOf(/store_page/i).filter((file) => filesOf(/checkout_page/i).includes(file));
  expect(pastHome, `the store page's and checkout's shared file in ${JSON.stringify(manifest)}`).toHaveLength(1);
  expect(home![1]).not.toContain(pastHome[0]);
  expect(fetched.filter((path) => path.endsWith('.wasm')).sort()).toEqual(
    [`${pkg}/baedal_bg.wasm`, `${pkg}/${home![1][0]}.wasm`].sort(),
  );
  for (const chunk of [...foreign, ...storePage]) {
    expect(fetched, `${chunk}.wasm is not fetched for /`).not.toContain(`${pkg}/${chunk}.wasm`);
  }
  // Into a store, inside the app: its page's chunk comes now, and the page works.
  const documents = fetched.filter((path) => path.startsWith('document ')).length;
  await cold.getByTestId('store-list').getByText('마포 즉석떡볶이').click();
  await expect(cold).toHaveURL(/\/stores\/\d+$/);
  await expect(cold.getByTestId('menu-item').first()).toBeVisible();
  await cold.getByRole('button', { name: '즉석떡볶이 (2인) 담기' }).click();
  await expect(cold.getByTestId('cart-bar')).toContainText('1개');
  expect(fetched.filter((path) => path.startsWith('document ')).length, 'no new document').toBe(documents);
  for (const chunk of [...storePage, ...pastHome]) expect(fetched).toContain(`${pkg}/${chunk}.wasm`);
  for (const chunk of foreign) expect(fetched, `${chunk}.wasm is not fetched`).not.toContain(`${pkg}/${chunk}.wasm`);
  expect(errors).toEqual([]);
  await context.close();
});

for (const { who, email, home, split, ready } of [
  {
    who: '상점주',
    email: 'owner@baedal.kr',
    home: '/store',
    split: /store_home/i,
    ready: async (page: Page) => {
      await expect(page.getByTestId('owned-store')).toHaveCount(3);
      await live(page);
    },
  },
  {
    who: '라이더',
    email: 'rider@baedal.kr',
    home: '/rider',
    split: /rider_home/i,
    ready: async (page: Page) => {
      await expect(page.getByTestId('rider-area')).toBeVisible();
      await live(page);
    },
  },
]) {
  test(`${who}: moving to ${home} inside the app loads its chunk, and the page works`, async ({ browser }) => {
    const { context, page, fetched, errors } = await openCold(browser, '/signin');
    const { pkg, manifest } = await manifestOf(page);
    const chunks = chunksOnlyFor(manifest, split);
    expect(chunks.length, `${home}'s own chunks in ${JSON.stringify(manifest)}`).toBeGreaterThan(0);
    for (const chunk of chunks) expect(fetched, 'not before it is needed').not.toContain(`${pkg}/${chunk}.wasm`);

    // Signing in moves to the role's home without loading a new document.
    const documents = fetched.filter((path) => path.startsWith('document ')).length;
    await signIn(page, email);
    await expect(page).toHaveURL(home);
    await ready(page);
    expect(fetched.filter((path) => path.startsWith('document ')).length, 'no new document').toBe(documents);
    for (const chunk of chunks) expect(fetched).toContain(`${pkg}/${chunk}.wasm`);
    // The page sets the document's title itself in the browser (app::ui::head), and the rider's
    // page its manifest, which the server's HTML for the sign-in page did not have.
    await expect(page).toHaveTitle(`${home === '/rider' ? '배달 목록' : '내 상점'} · 배달`);
    await expect(page.locator('link[rel=manifest]')).toHaveCount(home === '/rider' ? 1 : 0);
    expect(errors).toEqual([]);
    await context.close();
  });
}

test("the owner's order board comes without the menu page's code, which its link loads inside the app", async ({ browser }) => {
  const page = await signedIn(browser, 'owner@baedal.kr', '/store');
  const { pkg, manifest } = await manifestOf(page);
  const menuPage = chunksOnlyFor(manifest, /store_menu/i).map((file) => `${pkg}/${file}.wasm`);
  expect(menuPage.length, `the menu page's files in ${JSON.stringify(manifest)}`).toBeGreaterThan(0);

  const { context, page: cold, fetched, errors } = await openCold(browser, '/store', page);
  await live(cold);
  await cold.waitForLoadState('networkidle');
  for (const file of menuPage) expect(fetched, `${file} is not part of the board's load`).not.toContain(file);
  const board = cold.getByRole('link', { name: '주문 접수' });
  const menu = cold.getByRole('link', { name: '메뉴 · 재고' });
  await expect(board).toHaveAttribute('aria-current', 'page');

  const documents = fetched.filter((path) => path.startsWith('document ')).length;
  await menu.click();
  await expect(cold).toHaveURL('/store/menu');
  await expect(cold.getByLabel('모둠튀김 재고')).toHaveValue(/^\d+$/);
  await expect(cold).toHaveTitle('메뉴 · 재고 · 배달');
  await expect(menu).toHaveAttribute('aria-current', 'page');
  await expect(board).not.toHaveAttribute('aria-current', 'page');
  for (const file of menuPage) expect(fetched).toContain(file);

  await board.click();
  await expect(cold).toHaveURL('/store');
  await expect(cold.getByTestId('owned-store').first().getByRole('tab')).toHaveCount(5);
  expect(fetched.filter((path) => path.startsWith('document ')).length, 'no new document').toBe(documents);
  expect(errors).toEqual([]);
  await context.close();
});

test("the owner's dish and delivery-terms forms load their code when first opened, and keep working across re-reads", async ({ browser }) => {
  const page = await signedIn(browser, 'owner@baedal.kr', '/store/menu');
  const { pkg, manifest } = await manifestOf(page);
  const formFiles = (name: RegExp) => {
    const entry = Object.entries(manifest).find(([split]) => name.test(split));
    expect(entry, `${name} in ${JSON.stringify(manifest)}`).toBeTruthy();
    return entry![1].map((file) => `${pkg}/${file}.wasm`);
  };
  const menuForm = formFiles(/^baedal_owner_menu_form$/);
  const termsForm = formFiles(/^baedal_owner_terms_form$/);

  const { context, page: cold, fetched, errors } = await openCold(browser, '/store/menu', page);
  await live(cold);
  await cold.waitForLoadState('networkidle');
  for (const file of [...menuForm, ...termsForm]) expect(fetched, `${file} is not part of the first load`).not.toContain(file);

  const store = cold.getByTestId('owned-store').filter({ hasText: '종로 할매국밥' });
  await store.getByText('메뉴 추가 · 수정').click();
  await expect(store.getByLabel('메뉴 이름')).toBeVisible();
  for (const file of menuForm) expect(fetched).toContain(file);
  // (Code the two forms share, if any, is a chunk both list: loaded with the first.)
  const termsOnly = termsForm.filter((file) => !menuForm.includes(file));
  expect(termsOnly.length, 'the terms form has a file of its own').toBeGreaterThan(0);
  for (const file of termsOnly) expect(fetched, 'only the form opened').not.toContain(file);
  await store.getByLabel('메뉴 이름').fill('작성 중');

  await store.getByTestId('terms-editor').locator('summary').click();
  await expect(store.getByTestId('terms-editor').getByLabel('최소주문금액 (원)')).toBeVisible();
  for (const file of termsForm) expect(fetched).toContain(file);

  // A re-read of the stores (here: a stock number saved as it was) renders them anew; the
  // opened forms stay, with what was typed, and after the first re-read their fields are the
  // same elements, updated in place (a field being typed in keeps its focus).
  const terms = store.getByTestId('terms-editor');
  await terms.getByLabel('최소주문금액 (원)').fill('12300');
  const rereadBoard = async () => {
    const reread = cold.waitForResponse((response) => response.url().endsWith('/my_stores'));
    const row = store.getByTestId('stock-row').first();
    await row.locator('input').fill(await row.locator('input').inputValue());
    await row.getByRole('button', { name: '저장' }).click();
    await reread;
    // Two frames: the answer has been rendered.
    await cold.evaluate(() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done))));
  };
  await rereadBoard();
  await expect(store.getByLabel('메뉴 이름')).toHaveValue('작성 중');
  await expect(terms.getByLabel('최소주문금액 (원)')).toHaveValue('12300');
  await store.getByLabel('메뉴 이름').evaluate((input) => ((input as any).__kept = true));
  await rereadBoard();
  await expect(store.getByLabel('메뉴 이름')).toHaveValue('작성 중');
  await expect(terms.getByLabel('최소주문금액 (원)')).toHaveValue('12300');
  expect(await store.getByLabel('메뉴 이름').evaluate((input) => (input as any).__kept === true), 'the same element').toBe(true);
  expect(errors).toEqual([]);
  await context.close();
});

test("a form opened before the page is live loads once it is", async ({ browser }) => {
  const page = await signedIn(browser, 'owner@baedal.kr', '/store/menu');
  const { pkg, manifest } = await manifestOf(page);
  const pageFiles = chunksOnlyFor(manifest, /store_menu/i).map((file) => `${pkg}/${file}.wasm`);
  expect(pageFiles.length, `the menu page's files in ${JSON.stringify(manifest)}`).toBeGreaterThan(0);
  const storageState = await page.context().storageState();
  await page.context().close();

  // The menu page's own code is held back until the owner has opened the dish form in the
  // server's HTML (a summary opens its disclosure without scripts).
  const context = await browser.newContext({ storageState });
  const cold = await context.newPage();
  const errors = watchErrors(cold);
  let release = () => {};
  const held = new Promise<void>((done) => (release = done));
  await cold.route((url) => pageFiles.includes(url.pathname), async (route) => {
    await held;
    await route.continue();
  });
  await cold.goto('/store/menu', { waitUntil: 'domcontentloaded' });
  const store = cold.getByTestId('owned-store').filter({ hasText: '종로 할매국밥' });
  await store.getByText('메뉴 추가 · 수정').click();
  await expect(cold.locator('body[data-hydrated="true"]')).toHaveCount(0);
  release();
  await hydrated(cold);
  await expect(store.getByLabel('메뉴 이름')).toBeVisible();
  expect(errors).toEqual([]);
  await context.close();
});

test("a form whose code cannot be fetched says so and loads on 다시 시도; the rest of the page keeps working", async ({ browser }) => {
  const page = await signedIn(browser, 'owner@baedal.kr', '/store/menu');
  const { pkg, manifest } = await manifestOf(page);
  expect(manifest['baedal_owner_menu_form'], `the dish form's entry in ${JSON.stringify(manifest)}`).toBeTruthy();
  // The dish form's own files (what it shares with the terms form, a chunk both list, stays
  // reachable: the terms form is the page part that keeps working).
  const files = manifest['baedal_owner_menu_form'].filter((file) => !manifest['baedal_owner_terms_form'].includes(file));
  expect(files.length).toBeGreaterThan(0);

  const { context, page: cold, errors } = await openCold(browser, '/store/menu', page);
  await live(cold);
  // The network fails for the form's file only.
  const blocked = (url: URL) => files.some((file) => url.pathname === `${pkg}/${file}.wasm`);
  await cold.route(blocked, (route) => route.abort('internetdisconnected'));
  const store = cold.getByTestId('owned-store').filter({ hasText: '종로 할매국밥' });
  await store.getByText('메뉴 추가 · 수정').click();
  await expect(store.getByTestId('part-error')).toContainText('화면 파일을 받지 못했습니다');

  // The page is alive: the other form, whose file is not blocked, opens and loads.
  await store.getByTestId('terms-editor').locator('summary').click();
  await expect(store.getByTestId('terms-editor').getByLabel('최소주문금액 (원)')).toBeVisible();
  await expect(store.getByTestId('part-error')).toHaveCount(1);

  await cold.unroute(blocked);
  await store.getByRole('button', { name: '다시 시도' }).click();
  await expect(store.getByLabel('메뉴 이름')).toBeVisible();
  await expect(store.getByTestId('part-error')).toHaveCount(0);
  // The splitter's loader reports the failed fetch in the console; nothing else went wrong.
  expect(errors.filter((error) => !/Failed to fetch|Failed to load resource|ERR_INTERNET_DISCONNECTED/.test(error))).toEqual([]);
  await context.close();
});
