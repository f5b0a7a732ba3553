import { test, expect, hydrated, signIn } from './helpers';

const roles = [
  { email: 'customer@baedal.kr', home: '/', heading: '어떤 음식을 주문할까요?', badge: '고객' },
  { email: 'owner@baedal.kr', home: '/store', heading: '내 상점', badge: '상점주' },
  { email: 'rider@baedal.kr', home: '/rider', heading: '배달 목록', badge: '라이더' },
];

for (const role of roles) {
  test(`demo ${role.badge} signs in and lands on ${role.home}`, async ({ page }) => {
    await page.goto('/signin');
    await signIn(page, role.email);
    await expect(page).toHaveURL(role.home);
    await expect(page.getByRole('heading', { level: 1, name: role.heading })).toBeVisible();
    await expect(page.locator('.role-badge')).toHaveText(role.badge);
  });
}

test('customer home lists nearby stores, nearest first, closed ones marked', async ({ page }) => {
  await page.goto('/signin');
  await signIn(page, 'customer@baedal.kr');
  const stores = page.getByTestId('store-list').locator('li');
  await expect(stores.first()).toContainText('마포 즉석떡볶이');
  await expect(page.getByTestId('store-list')).toContainText('준비 중');
});

test('a wrong password shows one generic error and stays signed out', async ({ page }) => {
  await page.goto('/signin');
  await signIn(page, 'customer@baedal.kr', 'not-the-password');
  await expect(page.getByRole('alert')).toHaveText('이메일 또는 비밀번호가 올바르지 않습니다.');
  await expect(page).toHaveURL(/\/signin/);
  await page.goto('/orders');
  await expect(page).toHaveURL('/signin?next=/orders');
});

test('a signed-out visitor is sent to sign in and back to the page they wanted', async ({ page }) => {
  await page.goto('/store');
  await expect(page).toHaveURL('/signin?next=/store');
  await signIn(page, 'owner@baedal.kr');
  await expect(page).toHaveURL('/store');
  await expect(page.getByTestId('owned-store')).toHaveCount(3);
});

test('a customer opening the store admin gets a clear 403 page', async ({ page }) => {
  await page.goto('/signin');
  await signIn(page, 'customer@baedal.kr');
  await expect(page).toHaveURL('/');
  const response = await page.goto('/store');
  expect(response?.status()).toBe(403);
  await expect(page.getByTestId('forbidden')).toContainText('이 화면을 볼 권한이 없습니다');
  await hydrated(page);
  await page.getByRole('link', { name: '고객 홈으로' }).click();
  await expect(page).toHaveURL('/');
});

test('a new customer signs up, sees field errors first, then lands home; sign-out works', async ({ page }) => {
  await page.goto('/signup');
  await hydrated(page);
  await page.getByRole('button', { name: '가입하기' }).click();
  await expect(page.locator('[data-field="email"]')).toHaveText('이메일을 입력해 주세요.');
  await expect(page.locator('[data-field="password"]')).toBeVisible();

  const email = `e2e-${Date.now()}@example.com`;
  await page.getByLabel('이름', { exact: true }).fill('테스트 고객');
  await page.getByLabel('이메일').fill(email);
  await page.getByLabel('비밀번호 (8자 이상)').fill('correct horse');
  await page.getByLabel('배달 받을 도로명 주소').fill('서울 종로구 종로 69');
  await page.getByLabel('상세주소 (선택)', { exact: true }).fill('3층');
  await page.getByRole('button', { name: '가입하기' }).click();
  await expect(page).toHaveURL('/');
  await expect(page.getByTestId('delivery-address')).toContainText('서울 종로구 종로 69, 3층');
  await expect(page.getByTestId('store-list').locator('li').first()).toContainText('종로 할매국밥');

  await page.getByRole('button', { name: '로그아웃' }).click();
  await expect(page).toHaveURL('/signin');
  await page.goto('/');
  await hydrated(page);
  await expect(page.getByTestId('sign-in-link')).toBeVisible(); // a visitor again
  await expect(page.getByTestId('who')).toHaveCount(0);
  await page.goto('/orders');
  await expect(page).toHaveURL(/\/signin/);
});
