import { expect, test } from "@playwright/test";
import { BASE_URL, hydrated, newPerson, register, signIn } from "./helpers";
import { MAILDIR, linkIn, mailTo } from "./mailbox";

// A sign-in from a browser the account has not used mails the owner; the mail's
// "This wasn't me" link signs that browser out and leads to a new password. Mail is read
// from the test command's SMTP server (MAILDIR).
const NEW_PASSWORD = "a brand new passphrase 2";

test("new-device alert: 'This wasn't me' from the mail signs the other browser out and leads to a new password", async ({ page, browser }) => {
  test.skip(!MAILDIR, "needs the test command's SMTP server");
  const person = newPerson("alert");
  await register(page, BASE_URL, person);

  // Another browser (its own cookies: a device this account has never seen) signs in.
  const intruder = await browser.newContext();
  const b = await intruder.newPage();
  await signIn(b, BASE_URL, person.email, person.password);
  await expect(b).toHaveURL(/\/dashboard$/);

  const mail = await mailTo(person.email, "New sign-in to your account");
  expect(mail).toContain("UTC");
  expect(mail).toContain("127.0.0.1");
  expect(mail).toContain("had not been used on before");
  for (const secret of [person.password, "ghr_", "ghd_", "eyJ", "$argon2"]) expect(mail).not.toContain(secret);
  const link = linkIn(mail, "/not-me");

  // The owner's activity says it was mailed about.
  await page.goto(`${BASE_URL}/dashboard`);
  await expect(page.getByText("a device new to your account; we emailed you about it")).toBeVisible();

  // Opening the link changes nothing: the other browser is still signed in.
  await page.goto(link);
  await hydrated(page);
  await expect(page.getByRole("heading", { name: "Was this you?" })).toBeVisible();
  await expect(page.getByText("That device is still signed in.")).toBeVisible();
  await b.goto(`${BASE_URL}/settings/sessions`);
  await expect(b.getByRole("heading", { name: "Devices" })).toBeVisible();

  await page.getByRole("button", { name: "This wasn't me" }).click();
  await expect(page).toHaveURL(/\/not-me\?done=1$/);
  await expect(page.getByRole("status")).toContainText("That device is signed out");

  // That browser is out at once: its next navigation lands on the sign-in page.
  await b.goto(`${BASE_URL}/settings/sessions`);
  await expect(b).toHaveURL(/\/login/);

  // The mailed reset link opens the page that sets a new password.
  const reset = await mailTo(person.email, "Reset your password");
  await page.goto(linkIn(reset, "/reset-password"));
  await hydrated(page);
  await expect(page.getByRole("heading", { name: "Set a new password" })).toBeVisible();
  await page.getByLabel("New password").fill(NEW_PASSWORD);
  await page.getByRole("button", { name: "Set new password" }).click();
  await expect(page).toHaveURL(/\/dashboard/);

  // The alert's link worked once.
  await page.goto(link);
  await expect(page.getByText("This link is no longer valid")).toBeVisible();
  await intruder.close();
});
