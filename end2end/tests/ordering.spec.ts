import { Page } from '@playwright/test';
import { test, expect, hydrated, orderOne, signIn, signedIn } from './helpers';

async function openStore(page: Page, name: string) {
  await page.getByTestId('store-list').getByText(name).click();
  await expect(page.getByRole('heading', { level: 1, name })).toBeVisible();
  await hydrated(page);
}

async function myOrderCount(page: Page): Promise<number> {
  await page.goto('/orders');
  await hydrated(page);
  await expect(page.getByRole('heading', { level: 1, name: '내 주문' })).toBeVisible();
  // The list or its empty state, not the loading placeholder in between.
  await expect(page.getByTestId('order-list').or(page.getByText('아직 주문이 없습니다.'))).toBeVisible();
  return page.getByTestId('order-list').locator('li').count();
}

test('a customer adds two foods from one store, pays with the approve card and sees the order', async ({ page }) => {
  await page.goto('/signin');
  await signIn(page, 'customer@baedal.kr');
  await expect(page).toHaveURL('/');
  const ordersBefore = await myOrderCount(page);

  await page.goto('/');
  await openStore(page, '마포 즉석떡볶이');
  await expect(page.getByRole('button', { name: '볶음밥 담기' })).toBeDisabled(); // sold out
  await page.getByRole('button', { name: '즉석떡볶이 (2인) 담기' }).click();
  await page.getByRole('button', { name: '즉석떡볶이 (2인) 담기' }).click();
  await page.getByRole('button', { name: '모둠튀김 담기' }).click();
  await expect(page.getByTestId('cart-bar')).toContainText('3개');
  await expect(page.getByTestId('cart-bar')).toContainText('34,000원');

  // The cart survives a reload.
  await page.reload();
  await hydrated(page);
  await expect(page.getByTestId('cart-bar')).toContainText('34,000원');
  await page.getByTestId('cart-bar').click();

  await expect(page).toHaveURL('/checkout');
  await hydrated(page);
  await expect(page.getByTestId('cart-lines').locator('li')).toHaveCount(2);
  // The sandbox takes the payments here: its test cards are listed, the approved one filled in.
  await expect(page.getByTestId('test-cards')).toContainText('4242 4242 4242 4242 승인');
  await expect(page.getByLabel('카드 번호')).toHaveValue('4242 4242 4242 4242');
  await page.getByLabel('카드 번호').fill('4242 4242 4242 4242');
  await page.getByTestId('pay').click();

  await expect(page).toHaveURL(/\/orders\/\d+$/);
  await expect(page.getByTestId('order-status')).toContainText('결제 완료');
  await expect(page.getByTestId('order-status')).toContainText('주문 접수');
  await expect(page.getByTestId('order-total')).toContainText('34,000원');
  expect(await myOrderCount(page)).toBe(ordersBefore + 1);
});

test('a declined card shows the reason and no order is made; the cart stays', async ({ page }) => {
  await page.goto('/signin');
  await signIn(page, 'customer@baedal.kr');
  await expect(page).toHaveURL('/');
  const ordersBefore = await myOrderCount(page);

  await page.goto('/');
  await openStore(page, '마포 즉석떡볶이');
  await page.getByRole('button', { name: '순대 담기' }).click();
  await page.getByTestId('cart-bar').click();
  await hydrated(page);
  await page.getByLabel('카드 번호').fill('4000 0000 0000 0002');
  await page.getByTestId('pay').click();
  await expect(page.getByRole('alert')).toContainText('결제가 거절되었습니다: 잔액이 부족합니다.');
  await expect(page).toHaveURL('/checkout');
  await expect(page.getByTestId('cart-lines').locator('li')).toHaveCount(1);

  expect(await myOrderCount(page)).toBe(ordersBefore);
});

test('adding from another store asks before clearing the cart', async ({ page }) => {
  await page.goto('/signin');
  await signIn(page, 'customer@baedal.kr');
  await expect(page).toHaveURL('/');
  await openStore(page, '마포 즉석떡볶이');
  await page.getByRole('button', { name: '모둠튀김 담기' }).click();
  await page.goto('/');
  await openStore(page, '종로 할매국밥');
  page.once('dialog', (dialog) => dialog.dismiss());
  await page.getByRole('button', { name: '돼지국밥 담기' }).click();
  await expect(page.getByTestId('cart-bar')).toContainText('마포 즉석떡볶이');
  page.once('dialog', (dialog) => dialog.accept());
  await page.getByRole('button', { name: '돼지국밥 담기' }).click();
  await expect(page.getByTestId('cart-bar')).toContainText('종로 할매국밥 · 1개');
});

test('the customer cancels before cooking: the order page follows to 주문 취소 and 환불 완료', async ({ page }) => {
  await page.goto('/signin');
  await signIn(page, 'customer@baedal.kr');
  await expect(page).toHaveURL('/');
  await openStore(page, '종로 할매국밥');
  await page.getByRole('button', { name: '순대국밥 담기' }).click();
  await page.getByTestId('cart-bar').click();
  await hydrated(page);
  await page.getByTestId('pay').click();
  await expect(page).toHaveURL(/\/orders\/\d+$/);
  await hydrated(page);
  await expect(page.getByTestId('timeline')).toContainText('주문 접수');

  page.once('dialog', (dialog) => dialog.accept());
  await page.getByTestId('cancel-order').click();
  await expect(page.getByTestId('order-status')).toContainText('주문 취소');
  await expect(page.getByTestId('order-status')).toContainText('환불 완료');
  await expect(page.getByTestId('timeline')).toContainText('주문 취소');
  await expect(page.getByTestId('cancel-order')).toHaveCount(0);
});

test('재주문 shows the order as it is sold today, then fills the cart and opens checkout', async ({ browser }) => {
  const customer = await signedIn(browser, 'customer@baedal.kr', '/');
  await orderOne(customer, '모둠튀김');
  await customer.getByTestId('reorder').click();
  const plan = customer.getByTestId('reorder-plan');
  await expect(plan).toContainText('모둠튀김 ×1');
  await expect(plan.getByTestId('reorder-total')).toContainText('원');
  await plan.getByTestId('reorder-to-cart').click();
  await expect(customer).toHaveURL('/checkout');
  await expect(customer.getByTestId('cart-lines')).toContainText('모둠튀김');
});
