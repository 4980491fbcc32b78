import { expect, test, type Page } from "@playwright/test";
import * as crypto from "node:crypto";
import { BASE_URL, SHORT_TTL_URL, hydrated, newPerson, register, signIn } from "./helpers";

/** RFC 4648 base32, as the security page shows the key. */
function base32(text: string): Buffer {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = "";
  for (const c of text.replace(/=+$/, "").toUpperCase()) bits += alphabet.indexOf(c).toString(2).padStart(5, "0");
  const bytes = [];
  for (let i = 0; i + 8 <= bits.length; i += 8) bytes.push(parseInt(bits.slice(i, i + 8), 2));
  return Buffer.from(bytes);
}

/** The RFC 6238 code (SHA-1, 6 digits, 30 s) of time step `step`: what an authenticator app shows. */
function totp(secret: string, step: number): string {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(step));
  const mac = crypto.createHmac("sha1", base32(secret)).update(counter).digest();
  const offset = mac[mac.length - 1] & 15;
  return ((mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000).toString().padStart(6, "0");
}

const stepNow = () => Math.floor(Date.now() / 1000 / 30);

/** Waits until the current 30 s step has at least 15 s left. */
async function awayFromAStepBoundary(page: Page) {
  while (Math.floor(Date.now() / 1000) % 30 > 15) await page.waitForTimeout(500);
}

test("two-step verification: set up with the QR page's key, sign in with a code, then a recovery code without JavaScript", async ({ page, browser }) => {
  const person = newPerson("totp");
  await register(page, BASE_URL, person);
  await page.goto(`${BASE_URL}/settings/password`);
  await hydrated(page);
  await expect(page.getByRole("heading", { name: "Two-step verification" })).toBeVisible();
  await page.getByRole("button", { name: "Set up authenticator app" }).click();
  await expect(page.getByRole("img", { name: "QR code for your authenticator app" }).locator("svg")).toBeVisible();
  const secret = (await page.locator(".totp-secret").textContent())!.trim();
  expect(secret).toMatch(/^[A-Z2-7]{32}$/);

  await awayFromAStepBoundary(page);
  await page.getByLabel("Authentication code").fill("000000");
  await page.getByRole("button", { name: "Verify" }).click();
  await expect(page.getByText("That code is not right")).toBeVisible();
  // A slow phone's code (one step back) switches it on and leaves this step's code unused.
  await page.getByLabel("Authentication code").fill(totp(secret, stepNow() - 1));
  await page.getByRole("button", { name: "Verify" }).click();
  await expect(page.getByRole("heading", { name: "Recovery codes" })).toBeVisible();
  const codes = await page.locator(".codes code").allTextContents();
  expect(codes).toHaveLength(10);
  await expect(page.getByText("Two-step verification is on. 10 recovery codes left.")).toBeVisible();

  // Signing in now takes a code; the password alone leads to the code step.
  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/login/);
  await signIn(page, BASE_URL, person.email, person.password);
  await expect(page).toHaveURL(/\/login\/code/);
  await expect(page.getByRole("heading", { name: "Two-step verification" })).toBeVisible();
  await hydrated(page);
  await page.getByLabel("Authentication code").fill(totp(secret, stepNow()));
  await page.getByRole("button", { name: "Verify" }).click();
  await expect(page).toHaveURL(/\/dashboard$/);

  // Another browser, JavaScript off, phone lost: a recovery code, once.
  const plain = await browser.newContext({ javaScriptEnabled: false });
  const p = await plain.newPage();
  await signIn(p, BASE_URL, person.email, person.password, false);
  await expect(p).toHaveURL(/\/login\/code/);
  await p.getByText("Lost your phone? Use a recovery code").click();
  await p.getByLabel("Recovery code").fill(codes[0]);
  await p.getByRole("button", { name: "Verify" }).click();
  await expect(p).toHaveURL(/\/dashboard$/);
  await p.getByRole("button", { name: "Sign out" }).click();
  await signIn(p, BASE_URL, person.email, person.password, false);
  await p.getByText("Lost your phone? Use a recovery code").click();
  await p.getByLabel("Recovery code").fill(codes[0]);
  await p.getByRole("button", { name: "Verify" }).click();
  await expect(p.getByText("That code is not right")).toBeVisible();
  await plain.close();

  // The activity tells it; turning it off brings back the password alone.
  await page.goto(`${BASE_URL}/settings/password`);
  await expect(page.getByText("Two-step verification is on. 9 recovery codes left.")).toBeVisible();
  await hydrated(page);
  await page.getByRole("button", { name: "Turn off" }).click();
  await expect(page.getByRole("button", { name: "Set up authenticator app" })).toBeVisible();
  await page.goto(`${BASE_URL}/dashboard`);
  await expect(page.getByText(/A recovery code was used to sign in/)).toBeVisible();
});

test("confirm it's you: a stale sign-in is asked again before a sensitive change, which then carries on", async ({ page }) => {
  // The second server asks again after 4 s (GATEHOUSE_STEP_UP_MAX_AGE) and its access tokens live 3 s.
  const person = newPerson("stepup");
  await register(page, SHORT_TTL_URL, person);
  await page.goto(`${SHORT_TTL_URL}/settings/password`);
  await hydrated(page);
  await page.waitForTimeout(5_000);
  await page.getByRole("button", { name: "Set up authenticator app" }).click();
  const dialog = page.getByRole("dialog", { name: "Confirm it's you" });
  await expect(dialog).toBeVisible();
  await dialog.getByLabel("Your password").fill("not my password at all");
  await dialog.getByRole("button", { name: "Confirm it's you" }).click();
  await expect(dialog.getByText("Your password is not right")).toBeVisible();
  await dialog.getByLabel("Your password").fill(person.password);
  await dialog.getByRole("button", { name: "Confirm it's you" }).click();
  // It carries on: the set-up appears without asking for it again.
  await expect(dialog).toBeHidden();
  await expect(page.getByRole("img", { name: "QR code for your authenticator app" }).locator("svg")).toBeVisible();
  const secret = (await page.locator(".totp-secret").textContent())!.trim();
  await awayFromAStepBoundary(page);
  await page.getByLabel("Authentication code").fill(totp(secret, stepNow() - 1));
  await page.getByRole("button", { name: "Verify" }).click();
  await expect(page.getByRole("heading", { name: "Recovery codes" })).toBeVisible();

  // Later, turning it off asks again — now for a code too.
  await page.waitForTimeout(5_000);
  await page.getByRole("button", { name: "Turn off" }).click();
  await expect(dialog).toBeVisible();
  await dialog.getByLabel("Your password").fill(person.password);
  await dialog.getByLabel("Code from your app").fill(totp(secret, stepNow()));
  await dialog.getByRole("button", { name: "Confirm it's you" }).click();
  await expect(page.getByRole("button", { name: "Set up authenticator app" })).toBeVisible();
});
