import { expect, test, type Page } from "@playwright/test";
import { BASE_URL, SHORT_TTL_URL, hydrated, newPerson, register, signIn } from "./helpers";

/**
 * A platform authenticator with a screen lock, through the DevTools protocol: it holds
 * discoverable credentials and verifies the user (as a fingerprint would) without a prompt.
 */
async function virtualAuthenticator(page: Page) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("WebAuthn.enable");
  const { authenticatorId } = await cdp.send("WebAuthn.addVirtualAuthenticator", {
    options: {
      protocol: "ctap2",
      transport: "internal",
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });
  return {
    credentials: async () => (await cdp.send("WebAuthn.getCredentials", { authenticatorId })).credentials,
  };
}

async function addPasskey(page: Page, base: string, name: string) {
  await page.goto(`${base}/settings/password`);
  await hydrated(page);
  await expect(page.getByRole("heading", { name: "Passkeys" })).toBeVisible();
  await expect(page.getByText("You have no passkeys yet.")).toBeVisible();
  await page.getByLabel("Passkey name").fill(name);
  await page.getByRole("button", { name: "Add a passkey" }).click();
  await expect(page.getByText("Passkey added.")).toBeVisible();
  await expect(page.getByRole("heading", { name, level: 3 })).toBeVisible();
}

test("passkeys: add one on the security page, sign out, sign in with it, see it on the devices page and in the activity, remove it", async ({ page }) => {
  const authenticator = await virtualAuthenticator(page);
  const person = newPerson("passkey");
  await register(page, BASE_URL, person);
  await addPasskey(page, BASE_URL, "Test laptop");
  const stored = await authenticator.credentials();
  expect(stored).toHaveLength(1);
  expect(stored[0].isResidentCredential).toBe(true);
  expect(stored[0].rpId).toBe(new URL(BASE_URL).hostname);
  await expect(page.getByText(/not used yet/)).toBeVisible();

  // "Sign in with a passkey".
  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/login/);
  await hydrated(page);
  await page.getByRole("button", { name: "Sign in with a passkey" }).click();
  await expect(page).toHaveURL(/\/dashboard$/);
  await expect(page.getByText(/New sign-in with a passkey on this device/)).toBeVisible();

  // Autofill (conditional mediation): the browser offers the passkey in the email field; the
  // virtual authenticator picks it at once, as a person would.
  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/login/);
  await hydrated(page);
  await page.getByLabel("Email").focus();
  await expect(page).toHaveURL(/\/dashboard$/);
  await expect(page.getByText(/New sign-in with a passkey on this device/)).toBeVisible();
  await expect(page.getByText(/New sign-in with a passkey/)).toHaveCount(2);

  await page.goto(`${BASE_URL}/settings/sessions`);
  const current = page.locator(".device[data-current=true]");
  await expect(current.locator(".signed-in-with")).toHaveText("passkey");

  // Signing in with the passkey was recent authentication: removing it asks nothing more.
  await page.goto(`${BASE_URL}/settings/password`);
  await hydrated(page);
  await expect(page.getByText(/last used/)).toBeVisible();
  await page.getByRole("button", { name: "Remove Test laptop" }).click();
  await expect(page.getByText("Passkey removed.")).toBeVisible();
  await expect(page.getByText("You have no passkeys yet.")).toBeVisible();
  await page.goto(`${BASE_URL}/dashboard`);
  await expect(page.getByText(/Passkey “Test laptop” removed/)).toBeVisible();
  await expect(page.getByText(/Passkey “Test laptop” added/)).toBeVisible();

  // The authenticator still holds it, but it signs in no more.
  await page.getByRole("button", { name: "Sign out" }).click();
  await hydrated(page);
  await page.getByRole("button", { name: "Sign in with a passkey" }).click();
  await expect(page.getByText("That passkey was not accepted. Try again, or use your password.")).toBeVisible();
  await expect(page).toHaveURL(/\/login/);
});

test("confirm it's you with a passkey: a stale sign-in removes a passkey after the passkey confirms", async ({ page }) => {
  // The second server asks again after 4 s (GATEHOUSE_STEP_UP_MAX_AGE).
  await virtualAuthenticator(page);
  const person = newPerson("passkeystep");
  await register(page, SHORT_TTL_URL, person);
  await addPasskey(page, SHORT_TTL_URL, "Phone");
  await page.waitForTimeout(5_000);
  await page.getByRole("button", { name: "Remove Phone" }).click();
  const dialog = page.getByRole("dialog", { name: "Confirm it's you" });
  await expect(dialog).toBeVisible();
  await dialog.getByRole("button", { name: "Use a passkey" }).click();
  await expect(dialog).toBeHidden();
  await expect(page.getByText("Passkey removed.")).toBeVisible();
  await expect(page.getByText("You have no passkeys yet.")).toBeVisible();
});

test("without JavaScript the sign-in page says passkeys need it and the password form works", async ({ browser }) => {
  const person = newPerson("passkeyplain");
  const withJs = await browser.newPage();
  await register(withJs, BASE_URL, person);
  await withJs.close();
  const plain = await browser.newContext({ javaScriptEnabled: false });
  const page = await plain.newPage();
  await page.goto(`${BASE_URL}/login`);
  await expect(page.getByText("Signing in with a passkey needs JavaScript. Sign in with your email and password instead.")).toBeVisible();
  await expect(page.getByRole("button", { name: "Sign in with a passkey" })).toBeHidden();
  await signIn(page, BASE_URL, person.email, person.password, false);
  await expect(page).toHaveURL(/\/dashboard$/);
  await plain.close();
});
