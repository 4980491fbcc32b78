import { expect, test, type Page } from "@playwright/test";
import * as path from "node:path";
import { BASE_URL, PASSWORD, hydrated, newPerson, register, signIn } from "./helpers";

// Where the pictures go. A test run writes them under its own output (test-output/, ignored
// by git); only the deliberate refresh, scripts/screenshots.sh, points this at docs/screenshots.
const OUT = path.resolve(process.env.SCREENSHOT_DIR ?? path.resolve(__dirname, "../../test-output/screenshots"));
// The refresh starts a server with an empty database of its own, so it can sign up one fixed
// person. A test run shares its server with other tests (and may repeat): a unique email there.
const FRESH_SERVER = process.env.SCREENSHOT_FRESH_SERVER === "1";

const SIZES = { desktop: { width: 1280, height: 800 }, phone: { width: 390, height: 844 } } as const;
const IPHONE =
  "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1";

// Fixed data, so that taking the pictures again changes one only when its page changed. The
// browser's clock stands still at AT; every time, id and key the server put on the page (from
// its own clock or at random) is replaced with these values just before each picture. Only
// this spec's page gets this treatment: no other test sees a frozen clock or rewritten text.
const AT = new Date("2026-01-15T09:30:00Z");
const ACCESS_TTL_SECS = 15 * 60; // the server's default access-token lifetime
const EXPIRES = new Date(AT.getTime() + ACCESS_TTL_SECS * 1000);
const unix = (d: Date) => Math.floor(d.getTime() / 1000);
const rfc3339 = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, "Z"); // 2026-01-15T09:30:00Z
const minutes = (d: Date) => `${rfc3339(d).slice(0, 10)} ${rfc3339(d).slice(11, 16)} UTC`; // as the pages show it
const seconds = (d: Date) => `${rfc3339(d).slice(0, 10)} ${rfc3339(d).slice(11, 19)} UTC`;
const FIXED = {
  at: rfc3339(AT),
  atMinutes: minutes(AT),
  atSeconds: seconds(AT),
  expires: rfc3339(EXPIRES),
  expiresSeconds: seconds(EXPIRES),
  countdown: `${ACCESS_TTL_SECS / 60}:00 left`,
  ago: "just now",
  claims: {
    kid: "Kf3mQ7xT2vLp9sRa",
    iss: "http://127.0.0.1:3000",
    sub: "0194b2c8-3a1e-7c4d-9f60-2b8e5d7a1c03",
    sid: "5d1e8f3a-7b2c-4e9d-a6f0-1c3b5e7d9a24",
    iat: `${unix(AT)} (${rfc3339(AT)})`,
    exp: `${unix(EXPIRES)} (${rfc3339(EXPIRES)})`,
    jti: "7c2e9a4f1b8d3e6a0f5c9b2d4e8a1f37",
  } as Record<string, string>,
};

/** Puts the fixed values in place of the server's times, ids and keys on the page as it is now. */
async function fixData(page: Page) {
  await page.evaluate((f) => {
    const set = (selector: string, text: string, datetime?: string) => {
      for (const el of document.querySelectorAll<HTMLElement>(selector)) {
        el.textContent = text;
        if (datetime !== undefined && el.hasAttribute("datetime")) el.setAttribute("datetime", datetime);
        if (el.hasAttribute("title")) el.setAttribute("title", f.atMinutes);
      }
    };
    // "5 minutes ago · 2026-11-27 09:04 UTC": devices, security activity, the session timeline.
    set(".when time, .tl-when time", f.ago, f.at);
    set(".exact", f.atMinutes);
    // The dashboard's access token: when it expires, the countdown, when it was issued.
    set("[data-testid=access-expiry]", f.expiresSeconds, f.expires);
    set(".countdown, .countdown-copy", f.countdown);
    set(".flow-steps > li > time", f.atSeconds, f.at);
    for (const el of document.querySelectorAll<HTMLElement>("[data-testid=session-check]")) {
      el.textContent = (el.textContent ?? "").replace(/\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} UTC/g, f.expiresSeconds);
    }
    // The decoded token: key id, issuer (has the server's port), subject, session, times, token id.
    for (const dt of document.querySelectorAll<HTMLElement>("dl.claims dt")) {
      const value = f.claims[(dt.textContent ?? "").trim()];
      const dd = dt.nextElementSibling?.querySelector("code") ?? dt.nextElementSibling;
      if (value !== undefined && dd) dd.textContent = value;
    }
  }, FIXED);
  // Anything that still looks like a time or an id came from somewhere not handled above, and
  // would make the picture differ on every refresh: fail here rather than in a review.
  const text = await page.locator("body").innerText();
  const leftovers = [
    ...(text.match(/\b\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}/g) ?? []).filter(
      (t) => !t.startsWith(FIXED.at.slice(0, 10)),
    ),
    ...(text.match(/\b\d{10}\b/g) ?? []).filter((n) => n !== String(unix(AT)) && n !== String(unix(EXPIRES))),
    ...(text.match(/\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/g) ?? []).filter(
      (id) => id !== FIXED.claims.sub && id !== FIXED.claims.sid,
    ),
  ];
  expect(leftovers, `times or ids on ${page.url()} that a picture would freeze`).toEqual([]);
}

async function shoot(page: Page, name: string) {
  await hydrated(page);
  for (const scheme of ["light", "dark"] as const) {
    await page.emulateMedia({ colorScheme: scheme, reducedMotion: "reduce" });
    for (const [size, viewport] of Object.entries(SIZES)) {
      await page.setViewportSize(viewport);
      await fixData(page);
      await page.screenshot({ path: path.join(OUT, `${name}-${scheme}-${size}.png`), fullPage: true, animations: "disabled" });
    }
  }
  await page.setViewportSize(SIZES.desktop);
}

test("screenshots of the main pages, light and dark, desktop and phone", async ({ page, browser }) => {
  test.setTimeout(120_000);
  await page.clock.setFixedTime(AT);
  await page.goto(`${BASE_URL}/`);
  await shoot(page, "home");
  await page.goto(`${BASE_URL}/register`);
  await hydrated(page);
  await page.getByLabel("Password").fill("correct horse battery");
  // The meter rates a quarter second after typing stops: picture it rated, every time.
  await expect(page.locator(".strength")).toHaveAttribute("data-score", /\d/);
  await expect(page.locator(".strength-text")).toContainText("Strength:");
  await shoot(page, "register");
  await page.goto(`${BASE_URL}/login?ended=1`);
  await shoot(page, "login");

  const person = FRESH_SERVER
    ? { email: "ada@example.com", name: "Ada Lovelace", password: PASSWORD }
    : { ...newPerson("shot"), name: "Ada Lovelace" };
  await register(page, BASE_URL, person);
  const phone = await browser.newContext({ userAgent: IPHONE });
  const phonePage = await phone.newPage();
  await signIn(phonePage, BASE_URL, person.email, person.password);
  await expect(phonePage).toHaveURL(/\/dashboard$/);
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
