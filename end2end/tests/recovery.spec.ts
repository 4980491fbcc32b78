import { expect, test } from "@playwright/test";
import { BASE_URL, hydrated, newPerson, register, signIn } from "./helpers";
import { MAILDIR, linkIn, mailTo } from "./mailbox";

const NEW_PASSWORD = "a brand new passphrase 2";

test("forgot password: the mailed link sets a new password and signs the other browser out", async ({ page, browser }) => {
  test.skip(!MAILDIR, "needs the test command's SMTP server");
  const person = newPerson("reset");
  await register(page, BASE_URL, person);
  const other = await browser.newContext();
  const otherPage = await other.newPage();
  await signIn(otherPage, BASE_URL, person.email, person.password);
  await expect(otherPage).toHaveURL(/\/dashboard$/);

  const forgetful = await browser.newContext();
  const f = await forgetful.newPage();
  await f.goto(`${BASE_URL}/login`);
  await hydrated(f);
  await f.getByRole("link", { name: "Forgot password?" }).click();
  await expect(f.getByRole("heading", { name: "Reset your password" })).toBeVisible();
  await hydrated(f);
  await f.getByLabel("Email").fill(person.email);
  await f.getByRole("button", { name: "Send reset link" }).click();
  await expect(f.getByRole("status")).toContainText("If an account exists for that address, we've sent a link");

  const mail = await mailTo(person.email, "Reset your password");
  expect(mail).toContain("UTC");
  expect(mail).toContain("30 minutes");
  for (const secret of [person.password, "ghr_", "eyJ", "$argon2"]) expect(mail).not.toContain(secret);
  const link = linkIn(mail, "/reset-password");

  await f.goto(link);
  await hydrated(f);
  await expect(f.getByRole("heading", { name: "Set a new password" })).toBeVisible();
  await f.getByLabel("New password").fill(NEW_PASSWORD);
  await f.getByRole("button", { name: "Set new password" }).click();
  await expect(f).toHaveURL(/\/dashboard/);
  await expect(f.getByRole("heading", { name: "Dashboard" })).toBeVisible();

  // Every other device is out, at once.
  await otherPage.goto(`${BASE_URL}/settings/sessions`);
  await expect(otherPage).toHaveURL(/\/login/);
  await mailTo(person.email, "Your password was changed");

  // The link worked once.
  await f.goto(link);
  await expect(f.getByText("This link is no longer valid")).toBeVisible();
  await other.close();
  await forgetful.close();
});
