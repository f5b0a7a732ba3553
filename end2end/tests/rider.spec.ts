import { test, expect, hydrated, live, orderOne, signedIn } from './helpers';

// The rider stands in 마포구, where customer@baedal.kr takes deliveries.
const MAPO = { latitude: 37.5663, longitude: 126.9019 };
const riderBrowser = { geolocation: MAPO, permissions: ['geolocation'] };

test('customer, owner and rider take one order from payment to 배송확인, each screen following live', async ({ browser }) => {
  const owner = await signedIn(browser, 'owner@baedal.kr', '/store');
  const customer = await signedIn(browser, 'customer@baedal.kr', '/');
  const rider = await signedIn(browser, 'rider@baedal.kr', '/rider', riderBrowser);
  await expect(rider.getByTestId('rider-area')).toContainText('현재 위치');
  await live(owner);
  await live(rider);

  const orderId = await orderOne(customer, '즉석떡볶이 (2인)');
  await live(customer);
  // A mark on this page: it survives only if the page is never reloaded.
  await customer.evaluate(() => { (window as unknown as { stayed: boolean }).stayed = true; });
  const status = customer.getByTestId('order-status');
  const store = owner.getByTestId('owned-store').filter({ hasText: '마포 즉석떡볶이' });
  const onBoard = () => store.locator(`[data-order-id="${orderId}"]`);
  await expect(onBoard()).toBeVisible();
  await onBoard().getByRole('button', { name: '수락' }).click();
  await expect(status).toContainText('주문 수락');
  await store.getByRole('tab', { name: /접수/ }).click();
  await onBoard().getByRole('button', { name: '요리 시작' }).click();
  await expect(status).toContainText('요리 중');

  // Riders near the customer see the order while it is cooked, marked as such, not claimable.
  const offer = rider.getByTestId('delivery-offer').and(rider.locator(`[data-order-id="${orderId}"]`));
  await expect(offer).toContainText('요리 중');
  await expect(offer).toContainText('요리가 끝나면 배차받을 수 있습니다.');
  await expect(offer).toContainText('배달비');

  await store.getByRole('tab', { name: /조리 중/ }).click();
  await onBoard().getByRole('button', { name: '요리 완료' }).click();
  await expect(status).toContainText('요리 완료');
  await expect(offer).toContainText('요리 완료');

  await offer.getByRole('button', { name: '배차 받기' }).click();
  const mine = rider.getByTestId('my-delivery').and(rider.locator(`[data-order-id="${orderId}"]`));
  await expect(mine).toContainText('라이더 배정');
  await expect(status).toContainText('라이더 배정');
  await expect(customer.getByTestId('order-rider')).toHaveText('라이더: 박배달');

  await mine.getByRole('button', { name: '픽업 완료' }).click();
  await expect(status).toContainText('배달 중');
  await mine.getByRole('button', { name: '배달 완료' }).click();
  await expect(status).toContainText('배달 완료');
  await expect(mine).toHaveCount(0);

  await customer.getByTestId('confirm-delivery').click();
  await expect(status).toContainText('배송 확인 완료');
  await expect(customer.getByTestId('timeline')).toContainText('라이더 배정');
  await expect(customer.getByTestId('timeline')).toContainText('배달 중');
  await expect(customer.getByTestId('confirm-delivery')).toHaveCount(0);
  // Nothing was reloaded: every status above arrived while the page stayed open.
  expect(await customer.evaluate(() => (window as unknown as { stayed?: boolean }).stayed)).toBe(true);
});

test('the rider app is installable and shows its last list offline, refusing actions', async ({ browser }) => {
  // A cooked order near the rider, so the list has something to keep.
  const customer = await signedIn(browser, 'customer@baedal.kr', '/');
  const owner = await signedIn(browser, 'owner@baedal.kr', '/store');
  const orderId = await orderOne(customer, '모둠튀김');
  for (const action of ['accept', 'start_cooking', 'finish_cooking']) {
    const answer = await owner.request.post('/api/order_action', { form: { order_id: orderId, action, cook_minutes: '20' } });
    expect(answer.status(), action).toBe(200);
  }
  const rider = await signedIn(browser, 'rider@baedal.kr', '/rider', riderBrowser);
  const offer = rider.getByTestId('delivery-offer').and(rider.locator(`[data-order-id="${orderId}"]`));
  await expect(offer.getByRole('button', { name: '배차 받기' })).toBeEnabled();

  await expect(rider.locator('link[rel="manifest"]')).toHaveAttribute('href', '/manifest.webmanifest');
  const manifest = await rider.request.get('/manifest.webmanifest');
  expect(manifest.ok()).toBeTruthy();
  const body = await manifest.json();
  expect(body.display).toBe('standalone');
  expect(body.start_url).toBe('/rider');
  expect(body.icons.map((i: { sizes: string }) => i.sizes)).toEqual(expect.arrayContaining(['192x192', '512x512']));
  const icon = await rider.request.get('/icons/rider-512.png');
  expect(icon.headers()['content-type']).toBe('image/png');

  // The worker registers from the rider page (scope /rider) and activates.
  await expect
    .poll(() => rider.evaluate(async () => (await navigator.serviceWorker.getRegistration('/rider'))?.active?.scriptURL ?? ''))
    .toContain('/rider-sw.js');
  // Controlled by the worker from the next load on; that load also fills its cache.
  await rider.reload();
  await hydrated(rider);
  await expect.poll(() => rider.evaluate(() => navigator.serviceWorker.controller !== null)).toBe(true);
  await expect(rider.getByRole('heading', { name: /내 배달/ })).toBeVisible();

  await rider.context().setOffline(true);
  await expect(rider.getByTestId('offline-banner')).toBeVisible();
  await expect(offer.getByRole('button', { name: '배차 받기' })).toBeDisabled();

  // Opened again without any network: the cached app shell, with the last list it had.
  await rider.reload();
  await expect(rider.getByRole('heading', { level: 1, name: /배달 목록/ })).toBeVisible();
  await hydrated(rider);
  await expect(rider.getByTestId('offline-banner')).toBeVisible();
  await expect(rider.getByTestId('stale-board')).toBeVisible();
  await expect(offer.getByRole('button', { name: '배차 받기' })).toBeDisabled();

  // The bell, still offline: the notifications page's code comes from the worker's cache (a
  // page file that cannot be fetched would stop the whole app), and the app stays alive.
  const pageErrors: string[] = [];
  rider.on('pageerror', (error) => pageErrors.push(error.message));
  await rider.getByTestId('bell').click();
  await expect(rider).toHaveURL(/\/notifications$/);
  await expect(rider.getByRole('heading', { level: 1, name: '알림' })).toBeVisible();
  await rider.goBack();
  await expect(rider).toHaveURL(/\/rider$/);
  await expect(rider.getByTestId('stale-board')).toBeVisible();
  expect(pageErrors).toEqual([]);

  await rider.context().setOffline(false);
  await expect(rider.getByTestId('offline-banner')).toHaveCount(0);
  await expect(rider.getByTestId('stale-board')).toHaveCount(0);
  await offer.getByRole('button', { name: '배차 받기' }).click();
  await expect(rider.getByTestId('my-delivery').and(rider.locator(`[data-order-id="${orderId}"]`))).toBeVisible();
});

test('a rider who refuses location picks an area instead', async ({ browser }) => {
  const rider = await signedIn(browser, 'rider2@baedal.kr', '/rider'); // no geolocation permission
  await expect(rider.getByTestId('rider-area')).toContainText('강남구 중심');
  await expect(rider.getByTestId('rider-area')).toContainText('위치 권한이 없어');
  await expect(rider.getByRole('heading', { name: /강남구 중심 반경 3\.0km 배달/ })).toBeVisible();
  await rider.getByLabel('활동 지역').selectOption('마포구');
  await expect(rider.getByRole('heading', { name: /마포구 중심 반경 3\.0km 배달/ })).toBeVisible();
});
