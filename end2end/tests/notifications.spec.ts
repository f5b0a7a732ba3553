import { test, expect, hydrated, live, orderOne, signedIn } from './helpers';

test('the open order page follows the owner live and the bell counts the new notification', async ({ browser }) => {
  const owner = await signedIn(browser, 'owner@baedal.kr', '/store');
  const customer = await signedIn(browser, 'customer@baedal.kr', '/');
  const ownerBefore = Number(await (await owner.request.post('/api/unread_notifications')).text());
  const orderId = await orderOne(customer, '순대');
  await live(customer);
  const store = owner.getByTestId('owned-store').filter({ hasText: '마포 즉석떡볶이' });
  const card = store.locator(`[data-order-id="${orderId}"]`);
  await expect(card).toBeVisible(); // the order is with the store: its notifications are written

  const unread = async () => Number(await (await customer.request.post('/api/unread_notifications')).text());
  const before = await unread();
  const bell = customer.getByTestId('bell-count');
  await expect(bell).toHaveAttribute('data-count', String(before));

  await card.getByRole('button', { name: '수락' }).click();
  await expect(customer.getByTestId('order-status')).toContainText('주문 수락');
  await expect(bell).toHaveAttribute('data-count', String(before + 1));
  await expect(bell).toHaveText(String(before + 1));

  // Opening the feed reads it: the bell's count is gone, and what was new stays marked new.
  await customer.getByTestId('bell').click();
  await expect(customer).toHaveURL('/notifications');
  const newest = customer.getByTestId('notification').first();
  await expect(newest).toContainText('주문 수락');
  await expect(newest).toContainText(`#${orderId}`);
  await expect(customer.getByTestId('unread-line')).toContainText('읽지 않은 알림 0건');
  await expect(bell).toHaveAttribute('data-count', '0');
  await expect(bell).toHaveText('');
  await expect(newest).toHaveClass(/unread/);
  expect(await unread()).toBe(0);
  await expect(customer.getByTestId('kakao-settings')).toContainText('010-****-5678');

  // This server has no KakaoTalk channel: the box says so and is not ticked.
  const kakaoBox = customer.getByTestId('kakao-enabled');
  await expect(kakaoBox).toBeDisabled();
  await expect(kakaoBox).not.toBeChecked();
  await expect(customer.getByTestId('kakao-off')).toContainText('카카오톡 발송이 설정되어 있지 않아 앱 알림만 보냅니다');

  // A bad number is refused with the reason, next to the field.
  await customer.getByLabel('휴대폰 번호 (바꿀 때만)').fill('02-123-4567');
  await customer.getByTestId('kakao-settings').getByRole('button', { name: '저장' }).click();
  await expect(customer.getByTestId('kakao-settings').getByRole('alert')).toContainText('휴대폰 번호 형식이 올바르지 않습니다');

  // The owner's bell counted the new order too.
  await expect(owner.getByTestId('bell-count')).toHaveAttribute('data-count', String(ownerBefore + 1));
});

test('opening the notification page from a fresh load marks what it shows read, not what comes later', async ({ browser }) => {
  const owner = await signedIn(browser, 'owner@baedal.kr', '/store');
  const customer = await signedIn(browser, 'customer@baedal.kr', '/');
  const unread = async () => Number(await (await customer.request.post('/api/unread_notifications')).text());
  const orderId = await orderOne(customer, '순대'); // 주문 접수: one more unread notification
  await expect.poll(unread).toBeGreaterThan(0);
  const bell = customer.getByTestId('bell-count');
  await expect(bell).not.toHaveAttribute('data-count', '0');

  await customer.goto('/notifications');
  await hydrated(customer);
  await expect(customer.getByTestId('unread-line')).toContainText('읽지 않은 알림 0건');
  await expect(bell).toHaveAttribute('data-count', '0');
  await expect.poll(unread).toBe(0);

  // The store accepts while the page stays open: the page shows it, unread, and the bell counts it.
  const card = owner.getByTestId('owned-store').filter({ hasText: '마포 즉석떡볶이' }).locator(`[data-order-id="${orderId}"]`);
  await card.getByRole('button', { name: '수락' }).click();
  await expect(customer.getByTestId('notification').first()).toContainText('주문 수락');
  await expect(customer.getByTestId('notification').first()).toHaveClass(/unread/);
  await expect(bell).toHaveAttribute('data-count', '1');
  await expect(customer.getByTestId('unread-line')).toContainText('읽지 않은 알림 1건');
  expect(await unread()).toBe(1);

  // Opening the page again reads it.
  await customer.goto('/');
  await customer.getByTestId('bell').click();
  await expect(customer).toHaveURL('/notifications');
  await expect(customer.getByTestId('bell-count')).toHaveAttribute('data-count', '0');
  await expect.poll(unread).toBe(0);
});
