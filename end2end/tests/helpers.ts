import { test as base, expect, Browser, BrowserContext, BrowserContextOptions, Page } from '@playwright/test';

export { expect };

/**
 * Every spec uses this `test`: it fails a test on any Content-Security-Policy violation in any
 * page of any browser context the test opens (its own and those made by `signedIn`). Chromium
 * reports a violation both as a `securitypolicyviolation` event (re-logged here with its
 * directive and address) and as a console error naming the policy; either counts.
 */
export const test = base.extend<{ cspViolations: string[] }>({
  cspViolations: [
    async ({ browser, context }, use) => {
      const violations: string[] = [];
      const watch = async (ctx: BrowserContext) => {
        await ctx.addInitScript(() => {
          document.addEventListener('securitypolicyviolation', (event) => {
            console.error(
              `CSP violation: ${event.violatedDirective} blocked ${event.blockedURI || 'inline'} on ${event.documentURI}`,
            );
          });
        });
        ctx.on('console', (message) => {
          const text = message.text();
          if (/CSP violation|Content Security Policy/i.test(text)) violations.push(text);
        });
      };
      await watch(context);
      const newContext = browser.newContext.bind(browser);
      browser.newContext = async (options?: BrowserContextOptions) => {
        const ctx = await newContext(options);
        await watch(ctx);
        return ctx;
      };
      await use(violations);
      browser.newContext = newContext;
      expect(violations, 'Content-Security-Policy violations').toEqual([]);
    },
    { auto: true },
  ],
});

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

/** A new browser (own cookies) signed in as `email`, on `home`: its role's home page or another
 *  page of the role's own, which sign-in then comes back to (`?next=`). */
export async function signedIn(browser: Browser, email: string, home: string, options: BrowserContextOptions = {}): Promise<Page> {
  const context = await browser.newContext(options);
  const page = await context.newPage();
  await page.goto(`/signin?next=${home}`);
  await signIn(page, email);
  await expect(page).toHaveURL(home);
  await hydrated(page);
  return page;
}

/** Orders one `food` from 마포 즉석떡볶이 as the signed-in customer; returns the order id. */
export async function orderOne(customer: Page, food: string): Promise<string> {
  await customer.goto('/');
  await customer.getByTestId('store-list').getByText('마포 즉석떡볶이').click();
  await hydrated(customer);
  await customer.getByRole('button', { name: `${food} 담기` }).click();
  await customer.getByTestId('cart-bar').click();
  await hydrated(customer);
  await customer.getByTestId('pay').click();
  await expect(customer).toHaveURL(/\/orders\/\d+$/);
  await hydrated(customer);
  return customer.url().split('/').pop()!;
}

/** The page's live-update stream is connected (updates arrive pushed, not polled). */
export async function live(page: Page) {
  await expect(page.getByTestId('live-status').first()).toHaveAttribute('data-connected', 'true');
}
