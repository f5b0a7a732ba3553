import { test, expect, hydrated, live, orderOne, signedIn } from './helpers';
import type { Locator } from '@playwright/test';

/** "도착 예정 시각 19:42" is `minutes` from now (Korea time), give or take a minute. */
function expectMinutesFromNow(text: string | null, minutes: number) {
  const [, hh, mm] = text!.match(/(\d{2}):(\d{2})$/)!;
  const shown = Number(hh) * 60 + Number(mm);
  const now = new Date(Date.now() + 9 * 3_600_000);
  const expected = (now.getUTCHours() * 60 + now.getUTCMinutes() + minutes) % (24 * 60);
  const off = Math.abs(shown - expected);
  expect(Math.min(off, 24 * 60 - off), `${text} is ${minutes} minutes from now`).toBeLessThanOrEqual(1);
}

/** `inner` lies within `outer` horizontally (nothing cut off on a 390 px phone). */
async function expectWithinCard(inner: Locator, outer: Locator) {
  const [a, b] = [(await inner.boundingBox())!, (await outer.boundingBox())!];
  expect(a.x).toBeGreaterThanOrEqual(b.x);
  expect(a.x + a.width).toBeLessThanOrEqual(b.x + b.width + 0.5);
}

test('an order goes from the customer to the owner and back, live on both screens', async ({ browser }) => {
  const owner = await signedIn(browser, 'owner@baedal.kr', '/store');
  const customer = await signedIn(browser, 'customer@baedal.kr', '/');

  await live(owner); // new orders are pushed to the board, not polled for
  const orderId = await orderOne(customer, '모둠튀김');
  await live(customer);
  const store = owner.getByTestId('owned-store').filter({ hasText: '마포 즉석떡볶이' });
  const card = store.locator(`[data-order-id="${orderId}"]`);
  await expect(card).toBeVisible({ timeout: 15_000 }); // appears without a reload
  await expect(store.getByRole('status')).toContainText('새 주문');

  // Accepted with 20분 of cooking: the customer's page shows 도착 예정 시각 at once — 20 minutes
  // of cooking, 5 for a rider to take it, the ride (0.5 km from 와우산로 45 to the demo
  // customer's 양화로 45: 2 minutes at 250 m/min) and 3 to hand it over.
  await expect(customer.getByTestId('eta')).toHaveCount(0);
  const picker = card.getByLabel('조리 시간');
  await picker.selectOption({ label: '20분' });
  await expectWithinCard(picker, card);
  await card.getByRole('button', { name: '수락' }).click();
  await expect(customer.getByTestId('order-status')).toContainText('주문 수락', { timeout: 15_000 });
  const eta = customer.getByTestId('eta');
  await expect(eta).toHaveText(/^도착 예정 시각 \d{2}:\d{2}$/, { timeout: 15_000 });
  expectMinutesFromNow(await eta.textContent(), 30);
  await store.getByRole('tab', { name: /접수/ }).click();
  const accepted = store.locator(`[data-order-id="${orderId}"]`);
  await expect(accepted.getByTestId('promise')).toContainText(/조리 \d{2}:\d{2}까지 · 도착 예정 \d{2}:\d{2}/);
  await expect(accepted.getByTestId('late')).toHaveCount(0);
  await accepted.getByRole('button', { name: '요리 시작' }).click();
  await expect(customer.getByTestId('order-status')).toContainText('요리 중', { timeout: 15_000 });
  await expect(customer.getByTestId('cancel-order')).toHaveCount(0);
  await store.getByRole('tab', { name: /조리 중/ }).click();
  await store.locator(`[data-order-id="${orderId}"]`).getByRole('button', { name: '요리 완료' }).click();
  await expect(customer.getByTestId('order-status')).toContainText('요리 완료', { timeout: 15_000 });
  // Cooked well before the promise: the ETA now counts from the cooked time.
  expectMinutesFromNow(await eta.textContent(), 10);

  // A second order is rejected: the customer sees why, is refunded, and the stock is back.
  await customer.goto('/');
  await customer.getByTestId('store-list').getByText('마포 즉석떡볶이').click();
  const stockLine = customer.getByTestId('menu-item').filter({ hasText: '순대' }).locator('.stock');
  const stockBefore = await stockLine.textContent();
  const rejectedId = await orderOne(customer, '순대');
  const rejectedCard = store.locator(`[data-order-id="${rejectedId}"]`);
  await store.getByRole('tab', { name: /신규/ }).click();
  await expect(rejectedCard).toBeVisible({ timeout: 15_000 });
  await rejectedCard.getByLabel('거절 사유').selectOption('재료가 모두 소진되었습니다.');
  await expect(customer.getByTestId('order-status')).toContainText('주문 거절', { timeout: 15_000 });
  await expect(customer.getByTestId('order-status')).toContainText('환불 완료', { timeout: 15_000 });
  await expect(customer.getByTestId('order-note')).toHaveText('재료가 모두 소진되었습니다.');
  await customer.goto('/');
  await customer.getByTestId('store-list').getByText('마포 즉석떡볶이').click();
  await expect(customer.getByTestId('menu-item').filter({ hasText: '순대' }).locator('.stock')).toHaveText(stockBefore!);
});

test('the owner sets stock and closes the store; customers see both', async ({ browser }) => {
  const owner = await signedIn(browser, 'owner2@baedal.kr', '/store');
  const board = owner.getByTestId('owned-store').filter({ hasText: '송파 화덕피자' });
  await expect(board.getByTestId('sold-out')).not.toContainText('고르곤졸라');
  await board.getByRole('link', { name: '재고 입력 →' }).click();
  await expect(owner).toHaveURL('/store/menu');
  const store = owner.getByTestId('owned-store').filter({ hasText: '송파 화덕피자' });
  await store.getByLabel('고르곤졸라 재고').fill('-3');
  await store.getByRole('row', { name: /고르곤졸라/ }).getByRole('button', { name: '저장' }).click();
  await expect(store.getByRole('row', { name: /고르곤졸라/ })).toContainText('재고는 0개부터');
  await store.getByLabel('고르곤졸라 재고').fill('0');
  await store.getByRole('row', { name: /고르곤졸라/ }).getByRole('button', { name: '저장' }).click();
  await expect(store.getByRole('row', { name: /고르곤졸라/ })).toContainText('저장됨');

  const customer = await signedIn(browser, 'customer2@baedal.kr', '/');
  await customer.getByTestId('store-list').getByText('송파 화덕피자').click();
  await hydrated(customer);
  await expect(customer.getByRole('button', { name: '고르곤졸라 담기' })).toBeDisabled();

  // Back on the order board, inside the app: the dish is listed as sold out.
  await owner.getByRole('link', { name: '주문 접수' }).click();
  await expect(owner).toHaveURL('/store');
  await expect(board.getByTestId('sold-out')).toContainText('고르곤졸라');
  await board.getByTestId('open-toggle').click();
  await expect(board.getByTestId('open-toggle')).toContainText('영업 종료');
  await customer.goto('/');
  await expect(customer.getByTestId('store-list').locator('li').filter({ hasText: '송파 화덕피자' })).toContainText('준비 중');
  await board.getByTestId('open-toggle').click();
  await expect(board.getByTestId('open-toggle')).toContainText('영업 중');
});

test('a new store starts closed, cannot open without a dish in stock, and the dish form takes the first stock', async ({ browser }) => {
  const context = await browser.newContext();
  const owner = await context.newPage();
  const email = `e2e-owner-${Date.now()}@example.com`;
  const signUp = await owner.request.post('/api/sign_up', {
    form: {
      role: 'owner',
      email,
      password: 'correct horse',
      display_name: '박셰프',
      store_name: '성수 파스타',
      store_address: '서울 성동구 성수이로 1',
    },
  });
  expect(signUp.ok()).toBeTruthy();
  await owner.goto('/store');
  await hydrated(owner);
  const store = owner.getByTestId('owned-store').filter({ hasText: '성수 파스타' });
  const toggle = store.getByTestId('open-toggle');
  await expect(toggle).toContainText('영업 종료');

  await toggle.click();
  await expect(store.getByTestId('open-error')).toContainText('재고가 있는 메뉴가 없어 영업을 시작할 수 없습니다');
  await expect(toggle).toContainText('영업 종료');

  await owner.getByRole('link', { name: '메뉴 · 재고' }).click();
  await expect(owner).toHaveURL('/store/menu');
  await store.getByText('메뉴 추가 · 수정').click();
  await store.getByLabel('메뉴 이름').fill('봉골레');
  await store.getByLabel('가격 (원)').fill('13000');
  await store.getByLabel('재고 (개)').fill('5');
  await store.getByRole('button', { name: '메뉴 저장' }).click();
  await expect(store.getByLabel('봉골레 재고')).toHaveValue('5');

  await owner.getByRole('link', { name: '주문 접수' }).click();
  await expect(owner).toHaveURL('/store');
  await toggle.click();
  await expect(toggle).toContainText('영업 중');
  await expect(store.getByTestId('open-error')).toHaveCount(0);
  await context.close();
});

test('all five order tabs fit on a 390 px phone, none scrolled out of sight', async ({ browser }) => {
  const owner = await signedIn(browser, 'owner@baedal.kr', '/store');
  const store = owner.getByTestId('owned-store').filter({ hasText: '마포 즉석떡볶이' });
  const tabs = store.getByRole('tab');
  await expect(tabs).toHaveCount(5);
  // The tab bar scrolls sideways when its tabs do not fit: every tab must lie within it.
  const bar = (await store.getByRole('tablist').boundingBox())!;
  for (const tab of await tabs.all()) {
    const box = (await tab.boundingBox())!;
    expect(box.x).toBeGreaterThanOrEqual(bar.x);
    expect(box.x + box.width).toBeLessThanOrEqual(bar.x + bar.width + 0.5);
  }
  await expect(store.getByRole('tab', { name: /^완료/ })).toBeInViewport({ ratio: 1 });
});
