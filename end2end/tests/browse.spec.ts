import { Page } from '@playwright/test';
import { test, expect, hydrated, signIn } from './helpers';

/** Records every uncaught page error and console error from now on. */
function watchErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(`pageerror: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(`console: ${message.text()}`);
  });
  return errors;
}

/** As a visitor: picks `area` on the home page, opens 마포 즉석떡볶이 and puts two dishes in the cart. */
async function fillCartSignedOut(page: Page, area: string) {
  await page.goto('/');
  await hydrated(page);
  await expect(page.getByTestId('choose-area')).toHaveText('배달 받을 지역을 선택해 주세요');
  await expect(page.getByTestId('sign-in-link')).toBeVisible();
  await page.getByLabel('배달 받을 지역').selectOption(area);
  await expect(page.getByTestId('delivery-area')).toHaveText(`배달 지역: ${area}`);
  await page.getByTestId('store-list').getByText('마포 즉석떡볶이').click();
  await expect(page).toHaveURL(/\/stores\/\d+$/);
  await expect(page.getByRole('heading', { level: 1, name: '마포 즉석떡볶이' })).toBeVisible();
  await expect(page).toHaveTitle('마포 즉석떡볶이 · 배달');
  await page.getByRole('button', { name: '즉석떡볶이 (2인) 담기' }).click();
  await page.getByRole('button', { name: '순대 담기' }).click();
  await expect(page.getByTestId('cart-bar')).toContainText('2개');
}

/** On checkout after signing in: the cart is still there; paying with the test card makes the order. */
async function payAtCheckout(page: Page) {
  await expect(page).toHaveURL('/checkout');
  await hydrated(page);
  const lines = page.getByTestId('cart-lines');
  await expect(lines.locator('li')).toHaveCount(2);
  await expect(lines).toContainText('즉석떡볶이 (2인)');
  await expect(lines).toContainText('순대');
  await expect(page.getByLabel('카드 번호')).toHaveValue('4242 4242 4242 4242');
  // The money before paying: dishes, the store's 배달팁 (free at 마포 즉석떡볶이), the total.
  await expect(page.getByTestId('dishes-total')).toHaveText('19,000원');
  await expect(page.getByTestId('delivery-tip')).toHaveText('0원');
  await expect(page.getByTestId('bill-total')).toHaveText('19,000원');
  await page.getByTestId('pay').click();
  await expect(page).toHaveURL(/\/orders\/\d+$/);
  await expect(page.getByTestId('order-status')).toContainText('결제 완료');
}

test('a signed-out visitor browses a store, signs in at checkout and pays', async ({ page }) => {
  const errors = watchErrors(page);
  await fillCartSignedOut(page, '송파구');
  // The area was remembered: a new visit lists the stores from 송파구 at once.
  await page.goto('/');
  await hydrated(page);
  await expect(page.getByTestId('delivery-area')).toHaveText('배달 지역: 송파구');
  await expect(page.getByTestId('store-list').locator('li').first()).toContainText('송파 화덕피자');
  await page.reload();
  await hydrated(page);
  await expect(page.getByLabel('배달 받을 지역')).toHaveValue('송파구');

  await page.getByTestId('store-list').getByText('마포 즉석떡볶이').click();
  await expect(page.getByTestId('cart-bar')).toContainText('2개'); // the cart is kept too
  await page.getByTestId('cart-bar').click();
  await expect(page).toHaveURL('/signin?next=/checkout');
  await signIn(page, 'customer@baedal.kr');
  await payAtCheckout(page);
  await expect(page.getByTestId('who')).toBeVisible();
  expect(errors).toEqual([]);
});

test('a visitor asked to sign in at checkout signs up instead and comes back to the cart', async ({ page }) => {
  const errors = watchErrors(page);
  await fillCartSignedOut(page, '마포구');
  await page.getByTestId('cart-bar').click();
  await expect(page).toHaveURL('/signin?next=/checkout');
  await hydrated(page);
  await page.getByRole('link', { name: '회원가입' }).last().click();
  await expect(page).toHaveURL('/signup?next=/checkout');
  await page.getByLabel('이름', { exact: true }).fill('둘러본 손님');
  await page.getByLabel('이메일').fill(`browse-${Date.now()}@example.com`);
  await page.getByLabel('비밀번호 (8자 이상)').fill('correct horse');
  // Where they live: the road-name address the store delivers to.
  await page.getByLabel('배달 받을 도로명 주소').fill('서울 마포구 양화로 45');
  await page.getByLabel('상세주소 (선택)', { exact: true }).fill('2층');
  await page.getByRole('button', { name: '가입하기' }).click();
  await payAtCheckout(page);
  expect(errors).toEqual([]);
});

test("a shared store link shows the store without scripts; the area picker works without them too", async ({ browser }) => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await page.goto('/');
  await page.getByLabel('배달 받을 지역').selectOption('마포구');
  await page.getByRole('button', { name: '선택' }).click();
  await expect(page).toHaveURL(/\/\?area=/);
  await expect(page.getByTestId('store-list').locator('li').first()).toContainText('마포 즉석떡볶이');
  await page.getByTestId('store-list').getByText('마포 즉석떡볶이').click();
  await expect(page).toHaveURL(/\/stores\/\d+$/);
  await expect(page).toHaveTitle('마포 즉석떡볶이 · 배달');
  await expect(page.locator('meta[name="description"]')).toHaveAttribute('content', /^마포구 · .* · 메뉴: /);
  await expect(page.locator('meta[property="og:title"]')).toHaveAttribute('content', '마포 즉석떡볶이 · 배달');
  await expect(page.getByTestId('menu-item').first()).toBeVisible();
  // The remembered area without scripts too (the server's answer set it).
  await page.goto('/');
  await expect(page.getByTestId('delivery-area')).toHaveText('배달 지역: 마포구');
  await context.close();
});
