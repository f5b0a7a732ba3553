import { expect, Page } from '@playwright/test';

export const DEMO_PASSWORD = 'baedal1234';

/** Waits until the wasm has hydrated the page, so clicks reach Leptos and not a dead form. */
export async function hydrated(page: Page) {
  await expect(page.locator('body[data-hydrated="true"]')).toBeAttached();
}

export async function signIn(page: Page, email: string, password = DEMO_PASSWORD) {
  await hydrated(page);
  await page.getByLabel('이메일').fill(email);
  await page.getByLabel('비밀번호').fill(password);
  await page.getByRole('button', { name: '로그인' }).click();
}
