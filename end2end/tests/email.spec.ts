import { expect, test } from "@playwright/test";
import { BASE_URL, hydrated, newPerson, register } from "./helpers";
import { MAILDIR, linkIn, mailTo } from "./mailbox";

test("verify email: signed-in pages ask until the mailed link is followed", async ({ page }) => {
  test.skip(!MAILDIR, "needs the test command's SMTP server");
  const person = newPerson("verify");
  await register(page, BASE_URL, person);
  const notice = page.getByRole("region", { name: "Email verification" });
  await expect(notice).toContainText("Please verify your email address");
  await expect(notice).toContainText(person.email);

  // "Resend the link" sends a second one; either works.
  await hydrated(page);
  await notice.getByRole("button", { name: "Resend the link" }).click();
  await expect(notice.getByRole("status")).toHaveText("We've sent a new link. Check your inbox.");

  const mail = await mailTo(person.email, "Verify your email address");
  expect(mail).toContain("24 hours");
  for (const secret of [person.password, "ghr_", "ghd_", "eyJ", "$argon2"]) expect(mail).not.toContain(secret);
  await page.goto(linkIn(mail, "/verify-email"));
  await expect(page.getByRole("heading", { name: "Verify your email address" })).toBeVisible();
  await expect(page.getByRole("status")).toHaveText("Thank you: your email address is verified.");

  await page.goto(`${BASE_URL}/dashboard`);
  await expect(page.getByRole("heading", { name: "Dashboard" })).toBeVisible();
  await expect(page.getByRole("region", { name: "Email verification" })).toHaveCount(0);
  await page.goto(`${BASE_URL}/settings/password`);
  await expect(page.getByText("— verified.")).toBeVisible();
});

test("change email: confirmed from the new address, the old one told", async ({ page, browser }) => {
  test.skip(!MAILDIR, "needs the test command's SMTP server");
  const person = newPerson("mover");
  const newEmail = `moved.${person.email}`;
  await register(page, BASE_URL, person);
  await page.goto(`${BASE_URL}/settings/password`);
  await hydrated(page);
  await page.getByLabel("New email address").fill(newEmail);
  await page.getByLabel("Password", { exact: true }).fill("not my password at all");
  await page.getByRole("button", { name: "Send confirmation link" }).click();
  await expect(page.getByText("Your current password is not right")).toBeVisible();
  await page.getByLabel("Password", { exact: true }).fill(person.password);
  await page.getByRole("button", { name: "Send confirmation link" }).click();
  await expect(page.getByText(`We've sent a link to ${newEmail}.`)).toBeVisible();

  // The link opens anywhere: here a browser that is signed in to nothing.
  const elsewhere = await browser.newContext();
  const other = await elsewhere.newPage();
  await other.goto(linkIn(await mailTo(newEmail, "Confirm your new email address"), "/confirm-email"));
  await expect(other.getByText(`Make ${newEmail} the address of your account?`)).toBeVisible();
  await hydrated(other);
  await other.getByRole("button", { name: "Confirm new address" }).click();
  await expect(other.getByRole("status")).toHaveText(`Your email address is now ${newEmail}.`);

  const told = await mailTo(person.email, "Your email address was changed");
  expect(told).toContain(newEmail);
  await page.reload();
  await expect(page.locator(".current-email")).toHaveText(newEmail);
  await elsewhere.close();
});
