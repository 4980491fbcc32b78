import { expect, test } from "@playwright/test";
import { BASE_URL, SHORT_TTL_URL, cookie, hydrated, newPerson, register, signIn } from "./helpers";

for (const js of [true, false]) {
  const mode = js ? "with JavaScript" : "with JavaScript disabled";

  test.describe(`the core flow ${mode}`, () => {
    test.use({ javaScriptEnabled: js });

    test("registering lands on the dashboard with the person's name", async ({ page }) => {
      const person = newPerson("reg");
      await register(page, BASE_URL, person, js);
      await expect(page.getByText(person.name).first()).toBeVisible();
      await expect(page.getByText("Signed in", { exact: true })).toBeVisible();
      await expect(page.getByText("Access token expires", { exact: true })).toBeVisible();
    });

    test("signing out revokes the session and the dashboard then asks to sign in", async ({ page, context }) => {
      const person = newPerson("out");
      await register(page, BASE_URL, person, js);
      const accessBefore = await cookie(context, "gh_access");
      expect(accessBefore).toBeTruthy();
      await page.getByRole("button", { name: "Sign out" }).click();
      await expect(page).toHaveURL(/\/login\?signed_out=1$/);
      await expect(page.getByText("You have been signed out.")).toBeVisible();
      expect(await cookie(context, "gh_access")).toBeUndefined();
      expect(await cookie(context, "gh_refresh")).toBeUndefined();

      await page.goto(`${BASE_URL}/dashboard`);
      await expect(page).toHaveURL(/\/login\?next=%2Fdashboard$/);
      await expect(page.getByRole("heading", { name: "Sign in" })).toBeVisible();

      // The old access token is refused by the server at once, not when it expires.
      const me = await page.request.get(`${BASE_URL}/api/v1/me`, {
        headers: { Authorization: `Bearer ${accessBefore!.value}` },
      });
      expect(me.status()).toBe(401);
    });

    test("a wrong password shows the error and stays on the login page", async ({ page }) => {
      const person = newPerson("bad");
      await register(page, BASE_URL, person, js);
      await page.context().clearCookies();
      await signIn(page, BASE_URL, person.email, "not the right password", js);
      await expect(page.getByRole("alert").filter({ hasText: "Invalid email or password" })).toBeVisible();
      await expect(page).toHaveURL(/\/login/);
    });

    test("an unknown account gets the same message as a wrong password", async ({ page }) => {
      await signIn(page, BASE_URL, `nobody-${Date.now()}@example.com`, "whatever password", js);
      await expect(page.getByRole("alert").filter({ hasText: "Invalid email or password" })).toBeVisible();
    });

    test("signing in sends the person back to the page they asked for", async ({ page }) => {
      const person = newPerson("next");
      await register(page, BASE_URL, person, js);
      await page.context().clearCookies();
      await page.goto(`${BASE_URL}/dashboard`);
      await expect(page).toHaveURL(/\/login\?next=%2Fdashboard$/);
      if (js) await hydrated(page);
      await page.getByLabel("Email").fill(person.email);
      await page.getByLabel("Password").fill(person.password);
      await page.getByRole("button", { name: "Sign in", exact: true }).click();
      await expect(page).toHaveURL(/\/dashboard$/);
      await expect(page.getByRole("heading", { name: "Dashboard" })).toBeVisible();
    });

    test("registration errors show next to their fields", async ({ page }) => {
      await page.goto(`${BASE_URL}/register`);
      if (js) await hydrated(page);
      await page.getByLabel("Display name").fill("Someone");
      await page.getByLabel("Email").fill("not-an-email");
      await page.getByLabel("Password").fill("short");
      await page.getByRole("button", { name: "Create account" }).click();
      await expect(page.getByText("Enter a valid email address")).toBeVisible();
      await expect(page.getByText("Password must be at least 10 characters")).toBeVisible();
      await expect(page.getByLabel("Email")).toHaveAttribute("aria-invalid", "true");
    });

    test("a duplicate email gets a friendly message", async ({ page }) => {
      const person = newPerson("dup");
      await register(page, BASE_URL, person, js);
      await page.context().clearCookies();
      await page.goto(`${BASE_URL}/register`);
      if (js) await hydrated(page);
      await page.getByLabel("Display name").fill("Twin");
      await page.getByLabel("Email").fill(person.email.toUpperCase());
      await page.getByLabel("Password").fill(person.password);
      await page.getByRole("button", { name: "Create account" }).click();
      await expect(page.getByText("An account with this email already exists")).toBeVisible();
    });

    test("after the access token expires, navigating refreshes it without a login page", async ({ page, context }) => {
      const person = newPerson("ttl");
      await register(page, SHORT_TTL_URL, person, js);
      const first = await cookie(context, "gh_access");
      const refreshBefore = await cookie(context, "gh_refresh");
      // The server was started with a 3-second access token; wait until this one is past it.
      const expiry = await page.getByTestId("access-expiry").getAttribute("datetime");
      await page.waitForTimeout(Math.max(0, Date.parse(expiry!) - Date.now()) + 1500);

      const seen: string[] = [];
      page.on("framenavigated", (f) => f === page.mainFrame() && seen.push(f.url()));
      await page.goto(`${SHORT_TTL_URL}/dashboard`);
      await expect(page).toHaveURL(/\/dashboard$/);
      await expect(page.getByRole("heading", { name: "Dashboard" })).toBeVisible();
      expect(seen.some((u) => u.includes("/login"))).toBe(false);
      const second = await cookie(context, "gh_access");
      expect(second!.value).not.toBe(first!.value);
      expect((await cookie(context, "gh_refresh"))!.value).not.toBe(refreshBefore!.value);
    });
  });
}

test("a hydrated page's call that meets an expired token refreshes and retries once", async ({ page, context }) => {
  const person = newPerson("sfn");
  await register(page, SHORT_TTL_URL, person);
  await hydrated(page);
  const first = await cookie(context, "gh_access");
  const expiry = await page.getByTestId("access-expiry").getAttribute("datetime");
  await page.waitForTimeout(Math.max(0, Date.parse(expiry!) - Date.now()) + 1500);
  await expect(page.locator(".countdown")).toContainText("expired");

  await page.getByRole("button", { name: "Check my session" }).click();
  await expect(page.getByTestId("session-check")).toContainText("Your session is active");
  await expect(page).toHaveURL(/\/dashboard$/);
  const second = await cookie(context, "gh_access");
  expect(second!.value).not.toBe(first!.value);
  // The countdown now follows the new token.
  await expect(page.locator(".countdown")).toContainText("left");
});

test("the refresh cookie is HttpOnly, Strict, path-scoped, and invisible to page scripts", async ({ page, context }) => {
  const person = newPerson("ck");
  await register(page, BASE_URL, person);
  const refresh = await cookie(context, "gh_refresh");
  const access = await cookie(context, "gh_access");
  expect(refresh).toMatchObject({ httpOnly: true, sameSite: "Strict", path: "/auth" });
  expect(access).toMatchObject({ httpOnly: true, sameSite: "Lax", path: "/" });
  const visible = await page.evaluate(() => document.cookie);
  expect(visible).not.toContain("gh_refresh");
  expect(visible).not.toContain(refresh!.value);
  expect(visible).not.toContain("gh_access");
});
