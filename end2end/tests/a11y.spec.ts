import AxeBuilder from "@axe-core/playwright";
import { expect, test, type Browser, type Locator, type Page } from "@playwright/test";
import { BASE_URL, hydrated, newPerson, register, signIn } from "./helpers";

const FIREFOX_WINDOWS =
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0";

/** Runs axe on the page as it is now and expects no violations at all. */
async function expectNoViolations(page: Page, what: string) {
  const results = await new AxeBuilder({ page }).analyze();
  expect(results.passes.length, "axe ran its checks").toBeGreaterThan(10);
  const summary = results.violations.map(
    (v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`,
  );
  expect(summary, `axe violations on ${what}`).toEqual([]);
}

async function visit(page: Page, path: string) {
  await page.goto(`${BASE_URL}${path}`);
  await hydrated(page);
}

async function secondDevice(browser: Browser, person: { email: string; password: string }) {
  const context = await browser.newContext({ userAgent: FIREFOX_WINDOWS });
  const page = await context.newPage();
  await signIn(page, BASE_URL, person.email, person.password);
  await expect(page).toHaveURL(/\/dashboard$/);
  return context;
}

for (const scheme of ["light", "dark"] as const) {
  test.describe(`axe finds nothing, ${scheme} scheme`, () => {
    test.beforeEach(async ({ page }) => {
      await page.emulateMedia({ colorScheme: scheme });
    });

    test("signed out: start, sign in, register, a 404, and the pages' messages", async ({ page }) => {
      for (const path of [
        "/",
        "/login",
        "/login?ended=1",
        "/login?signed_out=1",
        "/login/code?next=%2Fdashboard",
        "/register",
        "/forgot-password",
        "/forgot-password?sent=1",
        "/reset-password?token=not-a-valid-link",
        "/not-me?token=not-a-valid-link",
        "/not-me?done=1",
        "/verify-email?token=not-a-valid-link",
        "/confirm-email?token=not-a-valid-link",
        "/confirm-email?done=1",
        "/login?verification=sent",
        "/no/such/page",
      ]) {
        await visit(page, path);
        await expectNoViolations(page, `${path} signed out (${scheme})`);
      }
      // A form showing the server's errors, and the strength meter in use.
      await visit(page, "/register");
      await page.getByLabel("Display name").fill("Someone");
      await page.getByLabel("Email").fill("not-an-email");
      await page.getByLabel("Password").fill("password1");
      await expect(page.getByText(/^Strength:/)).toBeVisible();
      await page.getByRole("button", { name: "Create account" }).click();
      await expect(page.getByText("Enter a valid email address")).toBeVisible();
      await expectNoViolations(page, `/register with errors (${scheme})`);
      await visit(page, "/login");
      await page.getByLabel("Email").fill("nobody@example.com");
      await page.getByLabel("Password").fill("not the password");
      await page.getByRole("button", { name: "Sign in", exact: true }).click();
      await expect(page.getByRole("alert").filter({ hasText: "Invalid email or password" })).toBeVisible();
      await expectNoViolations(page, `/login with an error (${scheme})`);
    });

    test("signed in: every page, with another device listed", async ({ page, browser }) => {
      const person = newPerson(`axe-${scheme}`);
      await register(page, BASE_URL, person);
      const other = await secondDevice(browser, person);
      for (const path of ["/dashboard", "/settings/sessions", "/settings/password", "/", "/login", "/register", "/no/such/page"]) {
        await visit(page, path);
        await expectNoViolations(page, `${path} signed in (${scheme})`);
      }
      // The confirmation step, open.
      await visit(page, "/settings/sessions");
      await page.getByText("Sign out all other devices…").click();
      await expect(page.getByRole("button", { name: "Sign out other devices" })).toBeVisible();
      await expectNoViolations(page, `/settings/sessions with the confirmation open (${scheme})`);
      // The password form with the meter and the password shown.
      await visit(page, "/settings/password");
      await page.getByLabel("Current password").fill(person.password);
      await page.getByLabel("New password").fill("qwertyuiop");
      await page.getByRole("button", { name: "Show new password" }).click();
      await page.getByRole("button", { name: "Change password" }).click();
      await expect(page.getByText("Password is too easy to guess")).toBeVisible();
      await expectNoViolations(page, `/settings/password with errors (${scheme})`);
      // The dashboard after a check.
      await visit(page, "/dashboard");
      await page.getByRole("button", { name: "Check my session" }).click();
      await expect(page.getByTestId("session-check")).toContainText("Your session is active");
      await expectNoViolations(page, `/dashboard after a check (${scheme})`);
      await other.close();
    });
  });
}

/** Presses Tab until `target` has the keyboard focus (or gives up). Keyboard only. */
async function tabTo(page: Page, target: Locator, max = 40) {
  for (let i = 0; i < max; i++) {
    if (await target.evaluate((el) => el === document.activeElement).catch(() => false)) return;
    await page.keyboard.press("Tab");
  }
  await expect(target).toBeFocused();
}

test("a keyboard-only journey: register, sign in elsewhere, sign that device out, sign out", async ({ page, browser }) => {
  const person = newPerson("keys");

  // Register, typing into each field in turn.
  await page.goto(`${BASE_URL}/register`);
  await hydrated(page);
  await tabTo(page, page.getByLabel("Display name"));
  await page.keyboard.type(person.name);
  await page.keyboard.press("Tab");
  await expect(page.getByLabel("Email")).toBeFocused();
  await page.keyboard.type(person.email);
  await page.keyboard.press("Tab");
  await expect(page.getByLabel("Password")).toBeFocused();
  await page.keyboard.type(person.password);
  await page.keyboard.press("Enter");
  await expect(page).toHaveURL(/\/dashboard$/);
  await expect(page.getByRole("heading", { name: "Dashboard" })).toBeVisible();

  // Sign in on a second device, by keyboard too.
  const context = await browser.newContext({ userAgent: FIREFOX_WINDOWS });
  const other = await context.newPage();
  await other.goto(`${BASE_URL}/login`);
  await hydrated(other);
  await tabTo(other, other.getByLabel("Email"));
  await other.keyboard.type(person.email);
  await other.keyboard.press("Tab");
  await other.keyboard.type(person.password);
  await other.keyboard.press("Enter");
  await expect(other).toHaveURL(/\/dashboard$/);

  // Back on the first device: to Devices through the navigation, then sign the other out.
  await page.reload();
  await hydrated(page);
  await tabTo(page, page.getByRole("link", { name: "Devices" }));
  await page.keyboard.press("Enter");
  await expect(page.getByRole("heading", { name: "Devices", level: 1 })).toBeVisible();
  await hydrated(page);
  await expect(page.locator("li.device")).toHaveCount(2);
  await tabTo(page, page.getByText("Sign out all other devices…"));
  await page.keyboard.press("Enter");
  await tabTo(page, page.getByRole("button", { name: "Sign out other devices" }));
  await page.keyboard.press("Space");
  await expect(page.getByText("Signed out 1 other device.")).toBeVisible();
  await expect(page.locator("li.device")).toHaveCount(1);
  await other.goto(`${BASE_URL}/dashboard`);
  await expect(other).toHaveURL(/\/login\?next=%2Fdashboard/);
  await context.close();

  // And sign out.
  await tabTo(page, page.getByRole("banner").getByRole("button", { name: "Sign out" }));
  await page.keyboard.press("Enter");
  await expect(page).toHaveURL(/\/login\?signed_out=1$/);
  await expect(page.getByText("You have been signed out.")).toBeVisible();
});
