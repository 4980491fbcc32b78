import { execFileSync } from "node:child_process";
import { expect, test, type Browser, type Page } from "@playwright/test";
import { BASE_URL, SHORT_TTL_URL, hydrated, newPerson, register, signIn } from "./helpers";

const FIREFOX_WINDOWS =
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0";

/** `gatehouse admin grant <email>` against a server's data folder (the default server's unless
 * `which` says the short-lived one's), while it runs. */
function grantOperator(email: string, which: "DEFAULT_DATA_DIR" | "SHORT_TTL_DATA_DIR" = "DEFAULT_DATA_DIR") {
  const bin = process.env.GATEHOUSE_BIN;
  const dataDir = process.env[which];
  if (!bin || !dataDir) throw new Error(`GATEHOUSE_BIN and ${which} must be set (scripts/test.sh sets them)`);
  const out = execFileSync(bin, ["admin", "grant", email], { env: { PATH: process.env.PATH ?? "", GATEHOUSE_DATA_DIR: dataDir } });
  expect(out.toString()).toContain(`${email} is an operator`);
}

/** The person on another device: a browser context of its own. */
async function personsDevice(browser: Browser, base = BASE_URL) {
  const person = newPerson("helped");
  const context = await browser.newContext({ userAgent: FIREFOX_WINDOWS });
  const page = await context.newPage();
  await register(page, base, person);
  return { person, context, page };
}

async function findPerson(page: Page, email: string, name: string, base = BASE_URL) {
  await page.goto(`${base}/admin`);
  await expect(page.getByRole("heading", { name: "Users", level: 1 })).toBeVisible();
  await page.getByLabel("Email or name").fill(email);
  await page.getByRole("button", { name: "Search" }).click();
  await expect(page).toHaveURL(/\/admin\?q=/);
  await page.getByRole("link", { name: new RegExp(name) }).click();
  await expect(page.getByRole("heading", { name, level: 1 })).toBeVisible();
}

test("an operator finds a person, signs out their other browser, disables and enables the account", async ({ page, browser }) => {
  const operator = newPerson("operator");
  await register(page, BASE_URL, operator);
  grantOperator(operator.email);
  const them = await personsDevice(browser);

  await findPerson(page, them.person.email, them.person.name);
  await hydrated(page);
  await expect(page.locator("li.device")).toHaveCount(1);
  await expect(page.locator("li.device")).toContainText("Firefox");

  // Sign out their browser: its next navigation lands on the login page.
  await page.getByRole("button", { name: /^Sign out Firefox on Windows/ }).click();
  await expect(page.getByRole("status").filter({ hasText: "Signed out." })).toBeVisible();
  await expect(page.locator("li.device")).toHaveCount(0);
  await them.page.goto(`${BASE_URL}/dashboard`);
  await expect(them.page).toHaveURL(/\/login\?next=%2Fdashboard/);

  // Disabled: the right password is refused with the generic message.
  await page.getByRole("button", { name: "Disable account" }).click();
  await expect(page.getByRole("status").filter({ hasText: "The account is disabled" })).toBeVisible();
  await expect(page.locator(".account-state")).toHaveText("Disabled");
  await signIn(them.page, BASE_URL, them.person.email, them.person.password);
  await expect(them.page.getByRole("alert").filter({ hasText: "Invalid email or password" })).toBeVisible();
  await expect(them.page).toHaveURL(/\/login/);

  // Enabled again: they sign in and read what happened in their activity.
  await page.getByRole("button", { name: "Enable account" }).click();
  await expect(page.locator(".account-state")).toHaveText("Enabled");
  await signIn(them.page, BASE_URL, them.person.email, them.person.password);
  await expect(them.page).toHaveURL(/\/dashboard$/);
  await expect(them.page.getByText(/An administrator signed you out of Firefox on Windows/)).toBeVisible();
  await expect(them.page.getByText("An administrator enabled your account again")).toBeVisible();

  // Every action is in the audit log, with who did it.
  await page.goto(`${BASE_URL}/admin/audit`);
  const rows = page.locator("table.audit tbody tr").filter({ hasText: them.person.email });
  await expect(rows).toHaveCount(3);
  await expect(rows.first()).toContainText("enabled the account");
  await expect(rows.first()).toContainText(operator.email);
  await them.context.close();
});

test("without JavaScript an operator disables an account with plain forms", async ({ browser }) => {
  const operator = newPerson("nojs-operator");
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await register(page, BASE_URL, operator, false);
  grantOperator(operator.email);
  const them = await personsDevice(browser);

  await findPerson(page, them.person.email, them.person.name);
  await page.getByRole("button", { name: "Disable account" }).click();
  await expect(page).toHaveURL(/\?done=disabled$/);
  await expect(page.getByRole("status").filter({ hasText: "The account is disabled" })).toBeVisible();
  await expect(page.locator(".account-state")).toHaveText("Disabled");
  await them.page.goto(`${BASE_URL}/dashboard`);
  await expect(them.page).toHaveURL(/\/login/);
  await context.close();
  await them.context.close();
});

test("an operator's action after a while asks \"Confirm it's you\" first, then goes on by itself", async ({ page, browser }) => {
  // The second server asks again after 4 s (GATEHOUSE_STEP_UP_MAX_AGE) and its access tokens live 3 s.
  const operator = newPerson("stepup-operator");
  await register(page, SHORT_TTL_URL, operator);
  grantOperator(operator.email, "SHORT_TTL_DATA_DIR");
  const them = await personsDevice(browser, SHORT_TTL_URL);
  await findPerson(page, them.person.email, them.person.name, SHORT_TTL_URL);
  await hydrated(page);
  await page.waitForTimeout(5_000);

  // Cancelled: nothing was sent, and the button is back.
  await page.getByRole("button", { name: "Disable account" }).click();
  const dialog = page.getByRole("dialog", { name: "Confirm it's you" });
  await expect(dialog).toBeVisible();
  await expect(page.getByRole("button", { name: "Disabling…" })).toBeDisabled();
  await dialog.getByRole("button", { name: "Cancel" }).click();
  await expect(dialog).toBeHidden();
  await expect(page.getByRole("button", { name: "Disable account" })).toBeEnabled();
  await expect(page.locator(".account-state")).toHaveText("Enabled");
  expect(page.url()).not.toContain("done=");

  // Confirmed: the account is disabled without pressing the button again.
  await page.getByRole("button", { name: "Disable account" }).click();
  await expect(dialog).toBeVisible();
  await dialog.getByLabel("Your password").fill(operator.password);
  await dialog.getByRole("button", { name: "Confirm it's you" }).click();
  await expect(page).toHaveURL(/\?done=disabled$/);
  await expect(page.getByRole("status").filter({ hasText: "The account is disabled" })).toBeVisible();
  await expect(page.locator(".account-state")).toHaveText("Disabled");
  await them.context.close();
});

test("someone who is not an operator is refused by the server", async ({ page }) => {
  const person = newPerson("not-operator");
  await register(page, BASE_URL, person);
  await page.goto(`${BASE_URL}/admin`);
  await expect(page.getByRole("heading", { name: "Users" })).toBeVisible();
  await expect(page.getByRole("alert")).toHaveText("Only operators can do this");
  await expect(page.getByLabel("Email or name")).toHaveCount(0);
});
