import { Browser } from '@playwright/test';
import { test, expect, hydrated, signedIn } from './helpers';

/** A new customer (own browser context) living at `address`, on the home page. */
async function newCustomer(browser: Browser, address: string) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const signUp = await page.request.post('/api/sign_up', {
    form: {
      role: 'customer',
      email: `e2e-delivery-${Date.now()}-${Math.random().toString(36).slice(2)}@example.com`,
      password: 'correct horse',
      display_name: '새 손님',
      address,
    },
  });
  expect(signUp.ok()).toBeTruthy();
  await page.goto('/');
  await hydrated(page);
  return page;
}

// Money shown before paying, and where stores deliver, as a customer and an owner see them at
// 390 px: the store list's minimum and tip, the cart's 주문금액 + 배달팁, the pay button held
// below the minimum, the tip on the paid order, stores beyond their radius marked, and the
// owner's 배달 조건 form.

test('the cart shows the tip, holds payment below the minimum, and the order charges dishes plus tip', async ({ browser }) => {
  const customer = await signedIn(browser, 'customer2@baedal.kr', '/');
  const chicken = customer.getByTestId('store-card').filter({ hasText: '강남 바삭치킨' });
  await expect(chicken.getByTestId('store-terms')).toHaveText('최소주문 15,000원 · 배달팁 3,000원');
  await chicken.click();
  await expect(customer.getByRole('heading', { level: 1, name: '강남 바삭치킨' })).toBeVisible();
  await hydrated(customer);
  await expect(customer.getByTestId('store-terms')).toContainText('최소주문 15,000원 · 배달팁 3,000원');

  await customer.getByRole('button', { name: '치즈볼 (5개) 담기' }).click();
  await customer.getByTestId('cart-bar').click();
  await expect(customer).toHaveURL('/checkout');
  await hydrated(customer);
  await expect(customer.getByTestId('dishes-total')).toHaveText('5,000원');
  await expect(customer.getByTestId('delivery-tip')).toHaveText('3,000원');
  await expect(customer.getByTestId('bill-total')).toHaveText('8,000원');
  await expect(customer.getByTestId('below-minimum')).toContainText('최소주문금액은 15,000원입니다');
  await expect(customer.getByTestId('pay')).toBeDisabled();

  await customer.goto('/');
  await customer.getByTestId('store-card').filter({ hasText: '강남 바삭치킨' }).click();
  await expect(customer.getByRole('heading', { level: 1, name: '강남 바삭치킨' })).toBeVisible();
  await hydrated(customer);
  await customer.getByRole('button', { name: '후라이드치킨 담기' }).click();
  await customer.getByTestId('cart-bar').click();
  await hydrated(customer);
  await expect(customer.getByTestId('bill-total')).toHaveText('27,000원');
  await expect(customer.getByTestId('below-minimum')).toHaveCount(0);
  await expect(customer.getByTestId('pay')).toHaveText('27,000원 결제하기');
  await customer.getByTestId('pay').click();
  await expect(customer).toHaveURL(/\/orders\/\d+$/);
  await hydrated(customer);
  await expect(customer.getByTestId('order-tip')).toHaveText('배달팁 3,000원');
  await expect(customer.getByTestId('order-total')).toContainText('27,000원');
  await expect(customer.getByTestId('order-address')).toHaveText('배달 주소: 서울 강남구 테헤란로 152, 12층');
});

test('stores beyond their radius are marked, and a new address changes what delivers', async ({ browser }) => {
  const customer = await newCustomer(browser, '서울 마포구 양화로 45');
  await expect(customer.getByTestId('delivery-address')).toHaveText('배달 주소: 서울 마포구 양화로 45');
  const chicken = customer.getByTestId('store-card').filter({ hasText: '강남 바삭치킨' });
  await expect(chicken.getByTestId('not-deliverable')).toHaveText('배달 불가 지역');
  await chicken.click();
  await expect(customer.getByRole('heading', { level: 1, name: '강남 바삭치킨' })).toBeVisible();
  await hydrated(customer);
  await expect(customer.getByTestId('not-deliverable')).toContainText('4km 이내로 배달합니다');

  await customer.goto('/');
  await hydrated(customer);
  await customer.getByText('배달 주소 변경').click();
  await customer.getByTestId('address-road').fill('서울 해운대구 어딘가로 1');
  await customer.getByTestId('address-save').click();
  await expect(customer.locator('[data-field="address"]')).toContainText('주소에서 서울의 구를 찾을 수 없습니다');
  await customer.getByTestId('address-road').fill('서울 강남구 테헤란로 120');
  await customer.getByTestId('address-detail').fill('5층');
  await customer.getByTestId('address-save').click();
  await expect(customer.getByTestId('delivery-address')).toHaveText('배달 주소: 서울 강남구 테헤란로 120, 5층');
  await expect(customer.getByTestId('store-card').filter({ hasText: '강남 바삭치킨' }).getByTestId('not-deliverable')).toHaveCount(0);
  await customer.reload();
  await hydrated(customer);
  await expect(customer.getByTestId('delivery-address')).toHaveText('배달 주소: 서울 강남구 테헤란로 120, 5층');
});

test('an owner sets 배달 조건 and customers see them', async ({ browser }) => {
  const owner = await signedIn(browser, 'owner2@baedal.kr', '/store/menu');
  const pizza = owner.getByTestId('owned-store').filter({ hasText: '송파 화덕피자' });
  await pizza.getByTestId('terms-editor').locator('summary').click();
  const form = pizza.getByTestId('terms-editor');
  await form.getByLabel('배달 가능 거리 (km)').fill('12');
  await form.getByTestId('terms-save').click();
  await expect(form.locator('[data-field="radius_km"]')).toContainText('10km');
  await form.getByLabel('최소주문금액 (원)').fill('18000');
  await form.getByLabel('배달팁 (원, 1km까지)').fill('2000');
  await form.getByLabel('1km마다 추가 배달팁 (원, 0이면 고정)').fill('0');
  await form.getByLabel('배달 가능 거리 (km)').fill('5');
  await form.getByTestId('terms-save').click();
  await expect(pizza.getByTestId('terms-summary')).toHaveText('최소주문 18,000원 · 배달팁 2,000원 · 배달 가능 거리 5km');

  const customer = await newCustomer(browser, '서울 송파구 올림픽로 300');
  await expect(customer.getByTestId('store-card').filter({ hasText: '송파 화덕피자' }).getByTestId('store-terms')).toHaveText('최소주문 18,000원 · 배달팁 2,000원');
  // Put the demo store's terms back for the other tests.
  await form.getByLabel('최소주문금액 (원)').fill('17000');
  await form.getByLabel('배달팁 (원, 1km까지)').fill('2500');
  await form.getByLabel('1km마다 추가 배달팁 (원, 0이면 고정)').fill('500');
  await form.getByTestId('terms-save').click();
  await expect(pizza.getByTestId('terms-summary')).toHaveText('최소주문 17,000원 · 배달팁 2,500원~ (1km마다 +500원) · 배달 가능 거리 5km');
});
