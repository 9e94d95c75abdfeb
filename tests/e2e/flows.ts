/** Steps a person takes in the web app, shared by the end-to-end tests. Role locators only. */
import type { Locator, Page } from "playwright-core";

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
  return recoveryFile;
}

/** The first-sign-in step that creates the user's keys. */
export async function createKeys(page: Page, passphrase: string): Promise<void> {
  await visible(page.getByRole("heading", { name: "Create your key passphrase" }), 20_000);
  await page.getByLabel("Key passphrase", { exact: true }).fill(passphrase);
  await page.getByLabel("Confirm key passphrase").fill(passphrase);
  await page.getByRole("button", { name: "Create my keys" }).click();
}

export async function signIn(page: Page, email: string, password: string): Promise<void> {
  await visible(page.getByRole("heading", { name: "Sign in" }));
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
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
