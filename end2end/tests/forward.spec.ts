import { expect, test, type BrowserContext, type Page } from "@playwright/test";
import { cookie, hydrated, newPerson } from "./helpers";

// Forward-auth behind a real nginx (scripts/test.sh starts nginx from
// deploy/forward-auth/nginx.conf.template, a Gatehouse with a cookie domain and a 6-second
// access token, and deploy/forward-auth/upstream.py as the protected app). Chromium resolves
// the example hosts to 127.0.0.1 through a host-resolver rule; the hosts share a registrable
// domain, so the shared cookies work as they would on a real one.
const APP = process.env.FORWARD_URL; // http://app.gatehouse.example.com:<nginx port>
const AUTH = process.env.FORWARD_AUTH_URL; // Gatehouse through nginx
const ADMIN = process.env.FORWARD_ADMIN_URL; // a host whose rule wants a verified address
const DIRECT = process.env.FORWARD_DIRECT_URL; // Gatehouse itself, for the API

test.skip(!APP || !AUTH || !ADMIN || !DIRECT, "needs the nginx set-up of scripts/test.sh (FORWARD_URL …)");
test.use({
  launchOptions: {
    executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--host-resolver-rules=MAP *.gatehouse.example.com 127.0.0.1",
    ],
  },
});

const FIREFOX_ON_WINDOWS = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0";

/** The upstream app's page shows what nginx passed on. */
async function expectLetIn(page: Page, email: string, name: string) {
  await expect(page.getByRole("heading", { name: "Protected app" })).toBeVisible();
  await expect(page.locator('[data-header="remote-email"]')).toHaveText(email);
  await expect(page.locator('[data-header="remote-name"]')).toHaveText(name);
  await expect(page.locator('[data-header="remote-user"]')).toHaveText(/^[0-9a-f-]{36}$/);
  // Gatehouse's cookies are stripped before the app.
  await expect(page.locator("[data-cookies]")).not.toContainText("gh_");
}

function expiryOf(token: string): number {
  return JSON.parse(Buffer.from(token.split(".")[1], "base64url").toString()).exp;
}

test("signed in through nginx, refreshed through nginx, shut out at once when the device is signed out", async ({ browser, request }) => {
  const person = newPerson("forward");
  const registered = await request.post(`${DIRECT}/api/v1/auth/register`, {
    data: { email: person.email, password: person.password, display_name: person.name },
  });
  expect(registered.status()).toBe(201);

  const laptop: BrowserContext = await browser.newContext({ userAgent: FIREFOX_ON_WINDOWS });
  const page = await laptop.newPage();
  // A forged identity header from the browser gets nowhere.
  await page.setExtraHTTPHeaders({ "Remote-User": "admin", "Remote-Email": "admin@example.com" });

  // Signed out: nginx sends the browser to the sign-in page, with the way back.
  await page.goto(`${APP}/wiki/page?x=1&y=2`);
  await expect(page).toHaveURL(/^http:\/\/auth\.gatehouse\.example\.com:\d+\/login\?rd=/);
  await hydrated(page);
  await page.getByLabel("Email").fill(person.email);
  await page.getByLabel("Password").fill(person.password);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await expect(page).toHaveURL(`${APP}/wiki/page?x=1&y=2`);
  await expectLetIn(page, person.email, person.name);

  // A host whose rule wants a verified address: a friendly refusal.
  await page.goto(`${ADMIN}/`);
  await expect(page.getByRole("heading", { name: "This account can't open that" })).toBeVisible();

  // The other device signs in and opens its devices page while the laptop's token ages.
  const phone = await browser.newContext();
  const other = await phone.newPage();
  await other.goto(`${AUTH}/login`);
  await hydrated(other);
  await other.getByLabel("Email").fill(person.email);
  await other.getByLabel("Password").fill(person.password);
  await other.getByRole("button", { name: "Sign in", exact: true }).click();
  await expect(other).toHaveURL(/\/dashboard$/);
  await other.goto(`${AUTH}/settings/sessions`);
  await hydrated(other);
  const signOutLaptop = other.getByRole("button", { name: /^Sign out Firefox on Windows/ });
  await expect(signOutLaptop).toBeVisible();

  // Past the access token's lifetime the laptop is still let through: the check refreshed
  // and nginx handed the new cookies on.
  const before = await cookie(laptop, "gh_shared_access");
  expect(before?.domain).toBe(".gatehouse.example.com");
  await page.waitForTimeout(Math.max(0, expiryOf(before!.value) * 1000 - Date.now()) + 1500);
  await page.goto(`${APP}/wiki/page?x=1&y=2`);
  await expectLetIn(page, person.email, person.name);
  const after = await cookie(laptop, "gh_shared_access");
  expect(after?.value).not.toBe(before?.value);
  const refreshed = await cookie(laptop, "gh_shared_refresh");
  expect(refreshed?.path).toBe("/");
  const stillValidUntil = expiryOf(after!.value);

  // "Sign out" on the laptop's row, from the phone: the laptop's very next request is shut
  // out, while its access token has not yet expired.
  await signOutLaptop.click();
  await expect(signOutLaptop).toBeHidden();
  await page.goto(`${APP}/wiki/other`);
  expect(Date.now() / 1000).toBeLessThan(stillValidUntil);
  await expect(page).toHaveURL(/^http:\/\/auth\.gatehouse\.example\.com:\d+\/login\?rd=/);
  await expect(page.getByRole("heading", { name: "Sign in" })).toBeVisible();

  await laptop.close();
  await phone.close();
});
