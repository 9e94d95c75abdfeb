/** Steps a person takes in the web app, shared by the end-to-end tests. Role locators only. */
import type { Locator, Page } from "playwright-core";
import { base32Decode, hotp, timeStep } from "../../worker/src/lib/totp";

/** Waits until the locator is visible (Playwright's own auto-waiting, no fixed sleeps). */
export function visible(locator: Locator, timeout = 15_000): Promise<void> {
  return locator.waitFor({ state: "visible", timeout });
}

export const ADMIN = {
  organisation: "Northshire Police",
  name: "Ada Admin",
  email: "ada@example.org",
  password: "correct horse battery staple",
  keyPassphrase: "ada's key passphrase, kept apart",
};

/** First-run setup through the setup screen, including the recovery key download. Returns the downloaded file's text. */
export async function setUpThroughUi(page: Page): Promise<string> {
  await page.goto("/");
  await visible(page.getByRole("heading", { name: "Set up Custody" }));
  await page.getByLabel("Organisation name").fill(ADMIN.organisation);
  await page.getByLabel("Your name").fill(ADMIN.name);
  await page.getByLabel("Email").fill(ADMIN.email);
  await page.getByLabel("Password", { exact: true }).fill(ADMIN.password);
  await page.getByLabel("Confirm password").fill(ADMIN.password);
  const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: "Download recovery key" }).click()]);
  const path = await download.path();
  const { readFile } = await import("node:fs/promises");
  const recoveryFile = await readFile(path, "utf8");
  await page.getByLabel("I have saved the recovery key file somewhere safe").check();
  await page.getByRole("button", { name: "Create organisation" }).click();
  await enrolTotp(page);
  return recoveryFile;
}

// ---- Two-step verification (on by default): each account's TOTP secret, kept as its
// authenticator app would, and codes that the server has not seen yet.

const totpSecrets = new Map<string, string>();
const lastStep = new Map<string, number>();

/** A TOTP code the server has not accepted yet (within its one step of drift), waiting for the clock if need be. */
export async function freshTotpCode(secret: string): Promise<string> {
  for (;;) {
    const now = timeStep(Date.now());
    // The step before now is accepted only until the current step ends: skip it in the last 8 s of
    // the step, so a code cannot fall out of the server's window on its way there.
    const earliest = Date.now() % 30_000 > 22_000 ? now : now - 1;
    const step = Math.max(earliest, (lastStep.get(secret) ?? -Infinity) + 1);
    if (step <= now + 1) {
      lastStep.set(secret, step);
      return hotp(base32Decode(secret), step);
    }
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

export function totpSecretOf(email: string): string | undefined {
  return totpSecrets.get(email);
}

/** The enrolment screen: reads the secret as a person would type it into their app, confirms a code, saves the recovery codes. */
export async function enrolTotp(page: Page): Promise<string[]> {
  await visible(page.getByRole("heading", { name: "Set up two-step verification" }), 20_000);
  const email = ((await page.getByText(/^Account: /).textContent()) ?? "").replace(/^Account: /, "").trim();
  const secretKey = page.getByLabel("Secret key");
  await visible(secretKey);
  const secret = ((await secretKey.textContent()) ?? "").replace(/\s/g, "");
  totpSecrets.set(email, secret);
  await page.getByLabel("Code from the app").fill(await freshTotpCode(secret));
  await page.getByRole("button", { name: "Verify and turn on" }).click();
  await visible(page.getByRole("heading", { name: "Save your recovery codes" }));
  const codes = await page.getByRole("list", { name: "Recovery codes" }).getByRole("listitem").allTextContents();
  await page.getByLabel("I have saved my recovery codes").check();
  await page.getByRole("button", { name: "Continue" }).click();
  return codes;
}

/** Enrols TOTP over the API for a session restricted to enrolment; returns the full session's cookie. */
export async function enrolTotpByApi(baseUrl: string, cookie: string): Promise<string> {
  const headers = { "Content-Type": "application/json", Origin: baseUrl, Cookie: cookie };
  const started = await fetch(`${baseUrl}/api/mfa/totp`, { method: "POST", headers });
  if (started.status !== 201) throw new Error(`TOTP enrolment failed: ${started.status}`);
  const { secret } = (await started.json()) as { secret: string };
  const confirmed = await fetch(`${baseUrl}/api/mfa/totp/confirm`, { method: "POST", headers, body: JSON.stringify({ code: await freshTotpCode(secret) }) });
  if (confirmed.status !== 200) throw new Error(`TOTP confirmation failed: ${confirmed.status}`);
  return /custody_session=[^;]+/.exec(confirmed.headers.get("Set-Cookie") ?? "")![0];
}

/** The second step of sign-in with the account's authenticator code. */
export async function completeMfa(page: Page, email: string): Promise<void> {
  const secret = totpSecrets.get(email);
  if (!secret) throw new Error(`no TOTP secret known for ${email}`);
  await visible(page.getByRole("heading", { name: "Two-step verification" }));
  await page.getByLabel("Authentication code").fill(await freshTotpCode(secret));
  await page.getByRole("button", { name: "Verify", exact: true }).click();
}

/** After the password: completes the second step if it is asked for (and not when the password was refused). */
export async function completeMfaIfAsked(page: Page, email: string): Promise<void> {
  const mfa = page.getByRole("heading", { name: "Two-step verification" });
  const refused = page.getByRole("alert");
  const enrol = page.getByRole("heading", { name: "Set up two-step verification" });
  const next = await Promise.race([
    mfa.waitFor({ state: "visible", timeout: 20_000 }).then(() => "mfa"),
    enrol.waitFor({ state: "visible", timeout: 20_000 }).then(() => "enrol"),
    refused.first().waitFor({ state: "visible", timeout: 20_000 }).then(() => "refused"),
    page.getByRole("navigation", { name: "Main" }).waitFor({ state: "visible", timeout: 20_000 }).then(() => "in"),
    page.getByRole("heading", { name: /Unlock your keys|Create your key passphrase/ }).waitFor({ state: "visible", timeout: 20_000 }).then(() => "in"),
  ]);
  if (next === "mfa") await completeMfa(page, email);
  if (next === "enrol") await enrolTotp(page);
}

/** The first-sign-in step that creates the user's keys (after MFA enrolment, when that is asked for first). */
export async function createKeys(page: Page, passphrase: string): Promise<void> {
  const keys = page.getByRole("heading", { name: "Create your key passphrase" });
  const enrol = page.getByRole("heading", { name: "Set up two-step verification" });
  const first = await Promise.race([keys.waitFor({ timeout: 20_000 }).then(() => "keys"), enrol.waitFor({ timeout: 20_000 }).then(() => "enrol")]);
  if (first === "enrol") await enrolTotp(page);
  await visible(keys, 20_000);
  await page.getByLabel("Key passphrase", { exact: true }).fill(passphrase);
  await page.getByLabel("Confirm key passphrase").fill(passphrase);
  await page.getByRole("button", { name: "Create my keys" }).click();
}

export async function signIn(page: Page, email: string, password: string): Promise<void> {
  await visible(page.getByRole("heading", { name: "Sign in" }));
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await completeMfaIfAsked(page, email);
}

export async function signOut(page: Page, userName: string): Promise<void> {
  await page.getByRole("button", { name: userName, exact: true }).click();
  await page.getByRole("button", { name: "Sign out" }).click();
  await visible(page.getByRole("heading", { name: "Sign in" }));
}

/** The signed-in shell is showing: the main navigation and a page heading. */
export async function expectSignedIn(page: Page, heading = "Cases"): Promise<void> {
  await visible(page.getByRole("navigation", { name: "Main" }), 20_000);
  await visible(page.getByRole("heading", { name: heading, level: 1 }));
}

/** Cases → New case: fills the form (description and tags when given) and waits for the case's page. */
export async function createCase(page: Page, fields: { number: string; title: string; description?: string; tags?: string }): Promise<void> {
  await page.getByRole("button", { name: "New case" }).click();
  const form = page.getByRole("form", { name: "New case" });
  await form.getByLabel("Case number").fill(fields.number);
  await form.getByLabel("Title").fill(fields.title);
  if (fields.description !== undefined) await form.getByLabel("Description").fill(fields.description);
  if (fields.tags !== undefined) await form.getByLabel("Tags (comma-separated)").fill(fields.tags);
  await form.getByRole("button", { name: "Create case" }).click();
  await visible(page.getByRole("heading", { name: fields.title, level: 1 }));
}

/** Plays the page's video muted for 1.5 s: where it started and got to, and its duration (s). */
export async function playVideo(page: Page): Promise<{ start: number; now: number; duration: number }> {
  const player = page.locator("video");
  await visible(player);
  return player.evaluate(async (element: HTMLVideoElement) => {
    element.muted = true;
    await element.play();
    const start = element.currentTime;
    await new Promise((r) => setTimeout(r, 1500));
    return { start, now: element.currentTime, duration: element.duration };
  });
}
