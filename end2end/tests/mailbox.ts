import { expect } from "@playwright/test";
import * as fs from "node:fs";
import * as path from "node:path";

// The test command starts a real SMTP server (aiosmtpd) for the default server and hands
// its mailbox (a Maildir) over as MAILDIR.
export const MAILDIR = process.env.MAILDIR;

/** A raw message's text with quoted-printable undone. */
function decoded(raw: string): string {
  return raw
    .replace(/=\r?\n/g, "")
    .replace(/=([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

/** Every message to `email` so far, decoded. */
export function mailsTo(email: string): string[] {
  const found: string[] = [];
  for (const sub of ["new", "cur"]) {
    const dir = path.join(MAILDIR ?? "", sub);
    if (!fs.existsSync(dir)) continue;
    for (const file of fs.readdirSync(dir)) {
      const raw = fs.readFileSync(path.join(dir, file), "utf8");
      if (raw.includes(`To: ${email}`)) found.push(decoded(raw));
    }
  }
  return found;
}

/** Waits for a message to `email` whose text contains `subject`. */
export async function mailTo(email: string, subject: string): Promise<string> {
  let mail: string | undefined;
  await expect
    .poll(() => (mail = mailsTo(email).find((m) => m.includes(subject))), { timeout: 20_000, message: `"${subject}" to ${email}` })
    .toBeDefined();
  return mail as string;
}

/** The first link to `pathname` (e.g. "/reset-password") in a message. */
export function linkIn(mail: string, pathname: string): string {
  const link = mail.match(new RegExp(`https?://[^\\s"<>]+${pathname}\\?token=[A-Za-z0-9_-]{43}`))?.[0];
  expect(link, `a ${pathname} link in the mail`).toBeTruthy();
  return link as string;
}
