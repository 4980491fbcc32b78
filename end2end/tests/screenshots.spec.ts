import { expect, test, type Page } from "@playwright/test";
import * as path from "node:path";
import { BASE_URL, hydrated, newPerson, register, signIn } from "./helpers";

// Where the pictures go. A test run writes them under its own output (test-output/, ignored
// by git); only the deliberate refresh, scripts/screenshots.sh, points this at docs/screenshots.
const OUT = path.resolve(process.env.SCREENSHOT_DIR ?? path.resolve(__dirname, "../../test-output/screenshots"));
const SIZES = { desktop: { width: 1280, height: 800 }, phone: { width: 390, height: 844 } } as const;
const IPHONE =
  "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1";

async function shoot(page: Page, name: string) {
  await hydrated(page);
  for (const scheme of ["light", "dark"] as const) {
    await page.emulateMedia({ colorScheme: scheme, reducedMotion: "reduce" });
    for (const [size, viewport] of Object.entries(SIZES)) {
      await page.setViewportSize(viewport);
      await page.screenshot({ path: path.join(OUT, `${name}-${scheme}-${size}.png`), fullPage: true, animations: "disabled" });
    }
  }
  await page.setViewportSize(SIZES.desktop);
}

test("screenshots of the main pages, light and dark, desktop and phone", async ({ page, browser }) => {
  test.setTimeout(120_000);
  await page.goto(`${BASE_URL}/`);
  await shoot(page, "home");
  await page.goto(`${BASE_URL}/register`);
  await hydrated(page);
  await page.getByLabel("Password").fill("correct horse battery");
  await shoot(page, "register");
  await page.goto(`${BASE_URL}/login?ended=1`);
  await shoot(page, "login");

  const person = { ...newPerson("shot"), name: "Ada Lovelace" };
  await register(page, BASE_URL, person);
  const phone = await browser.newContext({ userAgent: IPHONE });
  await signIn(await phone.newPage(), BASE_URL, person.email, person.password);
  await page.goto(`${BASE_URL}/dashboard`);
  await hydrated(page);
  await page.getByRole("button", { name: "Check my session" }).click();
  await expect(page.getByTestId("session-check")).toContainText("Your session is active");
  await shoot(page, "dashboard");
  await page.goto(`${BASE_URL}/settings/sessions`);
  await hydrated(page);
  await page.getByText("Sign out all other devices…").click();
  await shoot(page, "devices");
  await page.goto(`${BASE_URL}/settings/password`);
  await shoot(page, "security");
  await page.goto(`${BASE_URL}/no/such/page`);
  await shoot(page, "not-found");
  await phone.close();
});
