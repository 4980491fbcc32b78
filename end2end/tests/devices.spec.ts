import { expect, test, type Browser, type BrowserContext, type Page } from "@playwright/test";
import { BASE_URL, cookie, hydrated, newPerson, register, signIn } from "./helpers";

const FIREFOX_WINDOWS =
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0";
const SAFARI_IPHONE =
  "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1";

/** A second device: its own browser context, its own User-Agent, signed in as `person`. */
async function device(browser: Browser, person: { email: string; password: string }, userAgent: string, js = true) {
  const context = await browser.newContext({ userAgent, javaScriptEnabled: js });
  const page = await context.newPage();
  await signIn(page, BASE_URL, person.email, person.password, js);
  await expect(page).toHaveURL(/\/dashboard$/);
  return { context, page };
}

async function expectSignedOut(page: Page) {
  await page.goto(`${BASE_URL}/dashboard`);
  await expect(page).toHaveURL(/\/login\?next=%2Fdashboard/);
  await expect(page.getByRole("heading", { name: "Sign in" })).toBeVisible();
}

async function openDevices(page: Page, js = true) {
  await page.goto(`${BASE_URL}/settings/sessions`);
  await expect(page.getByRole("heading", { name: "Devices", level: 1 })).toBeVisible();
  if (js) await hydrated(page);
}

test("a device sees another with its browser and OS, and itself as This device", async ({ page, browser }) => {
  const person = newPerson("see");
  await register(page, BASE_URL, person);
  const b = await device(browser, person, FIREFOX_WINDOWS);
  await openDevices(page);
  const rows = page.locator("li.device");
  await expect(rows).toHaveCount(2);
  const mine = rows.filter({ hasText: "This device" });
  await expect(mine).toHaveCount(1);
  const other = rows.filter({ hasText: "Firefox" });
  await expect(other).toContainText("Windows");
  await expect(other).toContainText("127.0.0.1");
  await expect(other).not.toContainText("This device");
  await expect(page.getByRole("button", { name: /^Sign out Firefox on Windows/ })).toBeVisible();
  await b.context.close();
});

test("signing a device out ends it at once: its next navigation lands on the login page", async ({ page, browser }) => {
  const person = newPerson("kick");
  await register(page, BASE_URL, person);
  const b = await device(browser, person, FIREFOX_WINDOWS);
  await openDevices(page);
  await page.getByRole("button", { name: /^Sign out Firefox on Windows/ }).click();
  await expect(page.getByRole("status").filter({ hasText: "Device signed out." })).toBeVisible();
  await expect(page.locator("li.device")).toHaveCount(1);
  // No waiting for the access token to expire: B is refused on its very next request.
  await expectSignedOut(b.page);
  await b.context.close();
});

test("sign out other devices ends every other session and keeps this one", async ({ page, browser }) => {
  const person = newPerson("others");
  await register(page, BASE_URL, person);
  const b = await device(browser, person, FIREFOX_WINDOWS);
  const c = await device(browser, person, SAFARI_IPHONE);
  await openDevices(page);
  await expect(page.locator("li.device")).toHaveCount(3);
  // It asks first: the real button sits behind a disclosure.
  await expect(page.getByRole("button", { name: "Sign out other devices" })).toBeHidden();
  await page.getByText("Sign out all other devices…").click();
  await expect(page.getByText("This signs out the 2 other devices")).toBeVisible();
  await page.getByRole("button", { name: "Sign out other devices" }).click();
  await expect(page.getByText("Signed out 2 other devices.")).toBeVisible();
  await expect(page.locator("li.device")).toHaveCount(1);
  await expectSignedOut(b.page);
  await expectSignedOut(c.page);
  await page.goto(`${BASE_URL}/dashboard`);
  await expect(page.getByRole("heading", { name: "Dashboard" })).toBeVisible();
  await b.context.close();
  await c.context.close();
});

test("changing the password on one device signs the other out and keeps this one", async ({ page, browser }) => {
  const person = newPerson("pw");
  await register(page, BASE_URL, person);
  const b = await device(browser, person, FIREFOX_WINDOWS);
  await page.goto(`${BASE_URL}/settings/password`);
  await hydrated(page);
  await page.getByLabel("Current password").fill(person.password);
  await page.getByLabel("New password").fill("a brand new passphrase");
  await page.getByRole("button", { name: "Change password" }).click();
  await expect(page.getByText("Password changed. 1 other device was signed out.")).toBeVisible();
  await expectSignedOut(b.page);
  await page.goto(`${BASE_URL}/dashboard`);
  await expect(page.getByRole("heading", { name: "Dashboard" })).toBeVisible();
  await expect(page.getByText("Password changed; other devices were signed out")).toBeVisible();
  await b.context.close();
});

test("a wrong current password changes nothing", async ({ page, browser }) => {
  const person = newPerson("pwbad");
  await register(page, BASE_URL, person);
  const b = await device(browser, person, FIREFOX_WINDOWS);
  await page.goto(`${BASE_URL}/settings/password`);
  await hydrated(page);
  await page.getByLabel("Current password").fill("not my password at all");
  await page.getByLabel("New password").fill("a brand new passphrase");
  await page.getByRole("button", { name: "Change password" }).click();
  await expect(page.getByText("Your current password is not right")).toBeVisible();
  await b.page.goto(`${BASE_URL}/dashboard`);
  await expect(b.page.getByRole("heading", { name: "Dashboard" })).toBeVisible();
  await b.context.close();
});

test("a replayed refresh cookie gets that session revoked and the event shows on the other device", async ({ page, browser }) => {
  const person = newPerson("theft");
  await register(page, BASE_URL, person);
  const victim = await device(browser, person, FIREFOX_WINDOWS);
  const stolen = (await cookie(victim.context, "gh_refresh"))!;
  // The victim's browser refreshes normally: the stolen value is now spent.
  const rotated = await victim.page.request.post(`${BASE_URL}/auth/refresh`, {
    headers: { "Content-Type": "application/x-www-form-urlencoded", Origin: BASE_URL },
    data: "",
  });
  expect(rotated.ok()).toBe(true);
  expect((await cookie(victim.context, "gh_refresh"))!.value).not.toBe(stolen.value);

  // Later than the grace window (the test server runs with 1s), the thief replays it.
  await page.waitForTimeout(1500);
  const thief = await browser.newContext();
  await thief.addCookies([{ ...stolen }]);
  const replay = await thief.request.post(`${BASE_URL}/auth/refresh`, {
    headers: { "Content-Type": "application/x-www-form-urlencoded", Origin: BASE_URL },
    data: "",
  });
  expect(replay.ok()).toBe(false);
  expect(await replay.text()).toContain("RefreshTokenReused");

  // The whole session is gone, for the thief and the victim's browser alike.
  await expectSignedOut(victim.page);
  await page.goto(`${BASE_URL}/dashboard`);
  await expect(page.getByText(/was used twice/)).toBeVisible();
  await thief.close();
  await victim.context.close();
});

test("This wasn't me signs that device out and leads to changing the password", async ({ page, browser }) => {
  const person = newPerson("notme");
  await register(page, BASE_URL, person);
  const b = await device(browser, person, SAFARI_IPHONE);
  await page.goto(`${BASE_URL}/dashboard`);
  await hydrated(page);
  const event = page.locator("li.event", { hasText: "New sign-in on Safari on iPhone" });
  await expect(event).toBeVisible();
  await event.getByRole("button", { name: "This wasn't me" }).click();
  await expect(page).toHaveURL(/\/settings\/password\?reported=1$/);
  await expect(page.getByText("We signed that device out")).toBeVisible();
  await expectSignedOut(b.page);
  await b.context.close();
});

test("a device can be given a name, shown as text even when it looks like markup", async ({ page, browser }) => {
  const person = newPerson("name");
  await register(page, BASE_URL, person);
  const b = await device(browser, person, FIREFOX_WINDOWS);
  await openDevices(page);
  const markup = `<img src=x onerror="window.__pwned=1">`;
  const field = page.getByLabel(/^Name for Firefox on Windows/);
  await field.fill(markup);
  await page.getByRole("button", { name: /^Save name for Firefox on Windows/ }).click();
  await expect(page.getByText("Device name saved.")).toBeVisible();
  await expect(page.getByRole("heading", { name: markup })).toBeVisible();
  await page.reload();
  await expect(page.getByRole("heading", { name: markup })).toBeVisible();
  expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
  await expect(page.getByRole("button", { name: `Sign out ${markup}` })).toBeVisible();
  await b.context.close();
});

test.describe("with JavaScript disabled", () => {
  test.use({ javaScriptEnabled: false });

  test("signing another device out works as a plain form post", async ({ page, browser }) => {
    const person = newPerson("nojs");
    await register(page, BASE_URL, person, false);
    const b = await device(browser, person, FIREFOX_WINDOWS, false);
    await openDevices(page, false);
    await expect(page.locator("li.device")).toHaveCount(2);
    await page.getByRole("button", { name: /^Sign out Firefox on Windows/ }).click();
    await expect(page).toHaveURL(/\/settings\/sessions\??$/);
    await expect(page.locator("li.device")).toHaveCount(1);
    await expectSignedOut(b.page);
    await b.context.close();
  });

  test("sign out other devices and sign out everywhere work without JavaScript", async ({ page, browser }) => {
    const person = newPerson("nojs2");
    await register(page, BASE_URL, person, false);
    const b = await device(browser, person, SAFARI_IPHONE, false);
    await openDevices(page, false);
    await page.getByText("Sign out all other devices…").click();
    await page.getByRole("button", { name: "Sign out other devices" }).click();
    await expect(page.locator("li.device")).toHaveCount(1);
    await expectSignedOut(b.page);
    await page.getByRole("button", { name: "Sign out everywhere" }).click();
    await expect(page).toHaveURL(/\/login\?signed_out=1$/);
    await expectSignedOut(page);
  });
});

export type { BrowserContext };
