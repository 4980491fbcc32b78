import { expect, test } from "@playwright/test";
import { BASE_URL, SHORT_TTL_URL, cookie, hydrated, newPerson, register } from "./helpers";

test("the show-password toggle reveals and hides the password, and keeps it", async ({ page }) => {
  await page.goto(`${BASE_URL}/login`);
  await hydrated(page);
  const field = page.getByLabel("Password");
  await field.fill("hunter2 is my secret");
  await expect(field).toHaveAttribute("type", "password");
  await expect(page.getByRole("button", { name: "Show password" })).toHaveAttribute("aria-pressed", "false");
  // The name says what the button does; the pressed state says which way it is.
  const toggle = page.getByRole("button", { name: /^(Show|Hide) password$/ });
  await toggle.click();
  await expect(field).toHaveAttribute("type", "text");
  await expect(toggle).toHaveAttribute("aria-pressed", "true");
  await expect(page.getByRole("button", { name: "Hide password" })).toBeVisible();
  await expect(field).toHaveValue("hunter2 is my secret");
  await toggle.click();
  await expect(field).toHaveAttribute("type", "password");
  await expect(toggle).toHaveAttribute("aria-pressed", "false");
});

test("the strength meter rates as you type; the server refuses what it calls too weak", async ({ page }) => {
  await page.goto(`${BASE_URL}/register`);
  await hydrated(page);
  const password = page.getByLabel("Password");
  await password.fill("qwertyuiop");
  await expect(page.getByText(/^Strength: (Very weak|Weak) — too easy to guess\./)).toBeVisible();
  await password.fill("correct horse battery staple");
  await expect(page.getByText(/^Strength: (Strong|Very strong)\./)).toBeVisible();

  // Long enough, but guessable: the same verdict comes back from the server, in place.
  const person = newPerson("weak");
  await page.getByLabel("Display name").fill(person.name);
  await page.getByLabel("Email").fill(person.email);
  await password.fill("password1234");
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page.getByText("Password is too easy to guess.")).toBeVisible();
  await expect(password).toHaveAttribute("aria-invalid", "true");
  await expect(page).toHaveURL(/\/register/);
  // What was typed is still there, but the password.
  await hydrated(page);
  await expect(page.getByLabel("Display name")).toHaveValue(person.name);
  await expect(page.getByLabel("Email")).toHaveValue(person.email);
  await expect(password).toHaveValue("");
  // Put back once: the page opened again starts empty.
  await page.goto(page.url());
  await hydrated(page);
  await expect(page.getByLabel("Email")).toHaveValue("");
});

test("a plain form says what it is doing until the server answers, and a second press sends nothing", async ({ page }) => {
  const person = newPerson("pending");
  await register(page, BASE_URL, person);
  await page.getByRole("button", { name: "Sign out", exact: true }).click();
  await expect(page).toHaveURL(/\/login/);
  await hydrated(page);

  // While a form is on its way the page cannot be looked at from here (its navigation has
  // begun), so the page notes what its button does in sessionStorage, which the next page
  // still has; once the button is disabled it tries to send the form once more.
  let sent = 0;
  await page.route("**/fn/login", async (route) => {
    sent += 1;
    await new Promise((resolve) => setTimeout(resolve, 500));
    await route.continue();
  });
  await page.evaluate(() => {
    const form = document.querySelector<HTMLFormElement>("form[action='/fn/login']")!;
    const button = form.querySelector<HTMLButtonElement>("button[type=submit]")!;
    const note = (key: string, value: unknown) => {
      const notes = JSON.parse(sessionStorage.getItem("notes") ?? "{}");
      notes[key] = value;
      sessionStorage.setItem("notes", JSON.stringify(notes));
    };
    window.addEventListener("submit", (ev) => note(sessionStorage.getItem("notes") ? "again" : "first", ev.defaultPrevented));
    new MutationObserver(() => {
      if (!button.disabled || sessionStorage.getItem("notes")?.includes("button")) return;
      note("button", { text: button.textContent, busy: form.getAttribute("aria-busy") });
      form.requestSubmit();
    }).observe(button, { attributes: true });
  });
  await page.getByLabel("Email").fill(person.email);
  await page.getByLabel("Password").fill(person.password);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await expect(page).toHaveURL(/\/dashboard$/);
  const notes = JSON.parse((await page.evaluate(() => sessionStorage.getItem("notes"))) ?? "{}");
  expect(notes).toEqual({ first: false, button: { text: "Signing in…", busy: "true" }, again: true });
  expect(sent).toBe(1);
});

test("with JavaScript a required field left empty is said at the field, and nothing is sent", async ({ page }) => {
  let sent = 0;
  await page.route("**/fn/register", async (route) => {
    sent += 1;
    await route.continue();
  });
  await page.goto(`${BASE_URL}/register`);
  await hydrated(page);
  await page.getByLabel("Email").fill("   ");
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page.getByText("Enter a display name")).toBeVisible();
  await expect(page.getByText("Enter your email address")).toBeVisible();
  await expect(page.getByText("Enter your password")).toBeVisible();
  await expect(page.getByLabel("Display name")).toBeFocused();
  await expect(page.getByLabel("Email")).toHaveAttribute("aria-invalid", "true");
  // Typing takes that field's message away; the others stay.
  await page.getByLabel("Display name").fill("Someone");
  await expect(page.getByText("Enter a display name")).toHaveCount(0);
  await expect(page.getByLabel("Display name")).not.toHaveAttribute("aria-invalid", "true");
  await expect(page.getByText("Enter your email address")).toBeVisible();
  expect(sent).toBe(0);
  await expect(page).toHaveURL(`${BASE_URL}/register`);
});

test("an unknown address answers 404 with a way back", async ({ page }) => {
  const response = await page.goto(`${BASE_URL}/no/such/page`);
  expect(response!.status()).toBe(404);
  await expect(page.getByRole("heading", { name: "Page not found" })).toBeVisible();
  await expect(page.getByRole("link", { name: "Go to the start page" })).toBeVisible();
});

test("the dashboard timeline grows a step when a transparent refresh rotates the tokens", async ({ page, context }) => {
  const person = newPerson("tl");
  await register(page, SHORT_TTL_URL, person);
  await hydrated(page);
  const timeline = page.getByRole("list", { name: "This session so far" });
  await expect(timeline.getByRole("listitem")).toHaveCount(2); // signed in, now
  await expect(timeline).toContainText("Refresh token not rotated yet.");
  const first = await cookie(context, "gh_access");
  const expiry = await page.getByTestId("access-expiry").getAttribute("datetime");
  await page.waitForTimeout(Math.max(0, Date.parse(expiry!) - Date.now()) + 1500);
  await expect(page.locator(".countdown")).toContainText("expired");

  await page.getByRole("button", { name: "Check my session" }).click();
  await expect(page.getByTestId("session-check")).toContainText("Your session is active");
  expect((await cookie(context, "gh_access"))!.value).not.toBe(first!.value);
  await expect(timeline.getByRole("listitem")).toHaveCount(3);
  await expect(timeline.getByText("Tokens refreshed")).toBeVisible();
  await expect(timeline).toContainText("Refresh token rotated once.");
  await expect(page.locator(".countdown")).toContainText("left");

  // The server tells the same story after a reload.
  await page.reload();
  await expect(page.getByRole("list", { name: "This session so far" }).getByText("Tokens refreshed")).toHaveCount(1);
});

test.describe("with JavaScript disabled", () => {
  test.use({ javaScriptEnabled: false });

  test("password fields are plain password fields: no toggle, no meter", async ({ page }) => {
    await page.goto(`${BASE_URL}/register`);
    await expect(page.getByLabel("Password")).toHaveAttribute("type", "password");
    await expect(page.getByRole("button", { name: "Show password" })).toBeHidden();
    await expect(page.locator(".strength")).toBeHidden();
  });

  test("the server's strength minimum shows in place after a plain form post", async ({ page }) => {
    const person = newPerson("weaknojs");
    await page.goto(`${BASE_URL}/register`);
    await page.getByLabel("Display name").fill(person.name);
    await page.getByLabel("Email").fill(person.email);
    await page.getByLabel("Password").fill("aaaaaaaaaaaa");
    await page.getByRole("button", { name: "Create account" }).click();
    await expect(page.getByText("Password is too easy to guess.")).toBeVisible();
  });

  test("sign out other devices asks first, as a disclosure", async ({ page }) => {
    const person = newPerson("confirm");
    await register(page, BASE_URL, person, false);
    await page.goto(`${BASE_URL}/settings/sessions`);
    await expect(page.getByText("You are not signed in anywhere else.")).toBeVisible();
    await expect(page.getByText("Sign out all other devices…")).toHaveCount(0);
  });
});
