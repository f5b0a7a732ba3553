import { test, expect, hydrated, live, signedIn } from './helpers';

// The rider stands in 마포구, where customer@baedal.kr takes deliveries.
const MAPO = { latitude: 37.5663, longitude: 126.9019 };
const riderBrowser = { geolocation: MAPO, permissions: ['geolocation'] };

const STORE_NOTE = '덜 맵게 해 주세요';
const RIDER_NOTE = '문 앞에 두고 벨 누르지 말아 주세요';

test('notes at checkout reach the store, and the rider once they claim the delivery', async ({ browser }) => {
  const owner = await signedIn(browser, 'owner@baedal.kr', '/store');
  const customer = await signedIn(browser, 'customer@baedal.kr', '/');
  const rider = await signedIn(browser, 'rider@baedal.kr', '/rider', riderBrowser);
  await live(owner);
  await live(rider);

  await customer.getByTestId('store-list').getByText('마포 즉석떡볶이').click();
  await hydrated(customer);
  await customer.getByRole('button', { name: '즉석떡볶이 (2인) 담기' }).click();
  await customer.getByTestId('cart-bar').click();
  await expect(customer).toHaveURL(/\/checkout$/);
  const storeNote = customer.getByTestId('store-note');
  const riderNote = customer.getByTestId('rider-note');
  await expect(storeNote).toHaveAttribute('maxlength', '100');
  await expect(riderNote).toHaveAttribute('maxlength', '100');
  await expect(storeNote).toHaveAttribute('placeholder', /덜 맵게/);

  // A tab in a note: refused, the reason under that note, nothing paid.
  await storeNote.fill('덜\t맵게');
  await customer.getByTestId('pay').click();
  await expect(customer.locator('.field-error[data-field="store_note"]')).toHaveText(
    '가게 요청사항에 사용할 수 없는 글자가 있습니다.',
  );
  await expect(customer).toHaveURL(/\/checkout$/);

  await storeNote.fill(STORE_NOTE);
  await riderNote.fill(RIDER_NOTE);
  await customer.getByTestId('pay').click();
  await expect(customer).toHaveURL(/\/orders\/\d+$/);
  await hydrated(customer);
  const orderId = customer.url().split('/').pop()!;
  await expect(customer.getByTestId('store-note')).toHaveText(`가게 요청사항: ${STORE_NOTE}`);
  await expect(customer.getByTestId('rider-note')).toHaveText(`배달 요청사항: ${RIDER_NOTE}`);

  // The store sees its note on the order's card, not the rider's.
  const store = owner.getByTestId('owned-store').filter({ hasText: '마포 즉석떡볶이' });
  const onBoard = store.locator(`[data-order-id="${orderId}"]`);
  await expect(onBoard.getByTestId('store-note')).toHaveText(`요청사항: ${STORE_NOTE}`);
  await expect(onBoard).not.toContainText(RIDER_NOTE);
  for (const action of ['accept', 'start_cooking', 'finish_cooking']) {
    const answer = await owner.request.post('/api/order_action', { form: { order_id: orderId, action, cook_minutes: '20' } });
    expect(answer.status(), action).toBe(200);
  }

  // Offered to riders nearby without either note; the rider who claims it sees theirs.
  const offer = rider.getByTestId('delivery-offer').and(rider.locator(`[data-order-id="${orderId}"]`));
  await expect(offer.getByRole('button', { name: '배차 받기' })).toBeEnabled();
  await expect(offer.getByTestId('rider-note')).toHaveCount(0);
  await expect(offer).not.toContainText(RIDER_NOTE);
  await expect(offer).not.toContainText(STORE_NOTE);
  await offer.getByRole('button', { name: '배차 받기' }).click();
  const mine = rider.getByTestId('my-delivery').and(rider.locator(`[data-order-id="${orderId}"]`));
  await expect(mine.getByTestId('rider-note')).toHaveText(`배달 요청: ${RIDER_NOTE}`);
  await expect(mine).not.toContainText(STORE_NOTE);
});
