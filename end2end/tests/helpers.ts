import { expect, type BrowserContext, type Page } from "@playwright/test";

export const BASE_URL = process.env.BASE_URL ?? "http://127.0.0.1:3100";
export const SHORT_TTL_URL = process.env.SHORT_TTL_URL ?? "http://127.0.0.1:3101";
export const PASSWORD = "correct horse battery staple";

let counter = 0;
/** A fresh, unique person per test. */
export function newPerson(tag: string) {
  counter += 1;
  const id = `${Date.now().toString(36)}${counter}${Math.random().toString(36).slice(2, 6)}`;
  return { email: `${tag}-${id}@example.com`, name: `${tag} ${id}`, password: PASSWORD };
}

/** Waits until the page has hydrated (an effect that only runs in the browser sets this). */
export async function hydrated(page: Page) {
  await expect(page.locator("body")).toHaveAttribute("data-hydrated", "true");
}

export async function register(page: Page, base: string, person: ReturnType<typeof newPerson>, js = true) {
  await page.goto(`${base}/register`);
  if (js) await hydrated(page);
  await page.getByLabel("Display name").fill(person.name);
  await page.getByLabel("Email").fill(person.email);
  await page.getByLabel("Password").fill(person.password);
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page).toHaveURL(/\/dashboard$/);
  await expect(page.getByRole("heading", { name: "Dashboard" })).toBeVisible();
}

export async function signIn(page: Page, base: string, email: string, password: string, js = true) {
  await page.goto(`${base}/login`);
  if (js) await hydrated(page);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
}

export async function cookie(context: BrowserContext, name: string) {
  return (await context.cookies()).find((c) => c.name === name);
}
