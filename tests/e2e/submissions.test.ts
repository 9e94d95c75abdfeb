/**
 * Submission links end to end in Chromium at phone size (docs/submissions.md): a member makes a
 * public appeal link and sees it as a link and a QR code; someone with no account opens it and
 * sees the instructions and limits; once revoked, the link says so plainly. Needs `npx vite build`
 * first (the server runs with --no-build).
 */
import { mkdirSync } from "node:fs";
import { resolve } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN, createCase, createKeys, expectSignedIn, setUpThroughUi, visible } from "./flows";
import { CustodyServer, launchBrowser, phoneContext } from "./harness";

const shots = resolve(import.meta.dirname, "../../test-results/e2e");
mkdirSync(shots, { recursive: true });
const shot = (page: Page, name: string) => page.screenshot({ path: `${shots}/submissions-${name}.png`, fullPage: true });

describe("submission links: made by a member, opened with no account, revoked", () => {
  let server: CustodyServer;
  let browser: Browser;
  let member: Page;
  let witness: Page;
  let linkUrl = "";

  beforeAll(async () => {
    server = await CustodyServer.start();
    browser = await launchBrowser();
    member = await (await phoneContext(browser, server.url)).newPage();
    member.on("dialog", (dialog) => void dialog.accept());
  });

  afterAll(async () => {
    await browser?.close();
    await server?.dispose();
  });

  it("a member makes a public appeal link and sees it as a link and a QR code", async () => {
    server.attachLogOnFailure();
    await setUpThroughUi(member);
    await createKeys(member, ADMIN.keyPassphrase);
    await expectSignedIn(member);
    await createCase(member, { number: "2026-0888", title: "High Street fire" });
    await member.getByRole("button", { name: "New submission link…" }).click();
    const form = member.getByRole("form", { name: "New submission link" });
    await form.getByRole("radio", { name: /The public/ }).check();
    await form.getByRole("textbox", { name: "Appeal" }).fill("High Street fire appeal");
    await form.getByRole("textbox", { name: "Instructions" }).fill("Photos or video of the fire on High Street, 6 December, 21:00 to 23:00.");
    await form.getByRole("spinbutton", { name: "Most files" }).fill("3");
    await form.getByRole("button", { name: "Make link" }).click();
    const link = member.getByRole("textbox", { name: "Submission link" });
    await visible(link, 60_000);
    linkUrl = await link.inputValue();
    expect(linkUrl).toMatch(new RegExp(`^${server.url}/submit/[A-Za-z0-9_-]{43}#[A-Za-z0-9_-]{43}$`));
    await visible(member.getByRole("img", { name: "QR code for the link for High Street fire appeal" }));
    await member.getByRole("button", { name: "Done" }).click();
    const card = member.getByRole("list", { name: "Submission links" }).getByRole("listitem");
    await visible(card.getByText("Public appeal · up to 3 files"));
    await shot(member, "member");
  });

  it("someone with no account opens the link on a phone and sees what is asked; a cut link and a revoked one say so plainly", async () => {
    witness = await (await phoneContext(browser, server.url)).newPage();
    await witness.goto(linkUrl);
    await visible(witness.getByRole("heading", { name: "Send evidence" }));
    await visible(witness.getByText("Photos or video of the fire on High Street"));
    await visible(witness.getByText(/Up to 3 files, 10\.7 GB in all/));
    // Nothing of the case reaches the page.
    expect(await witness.content()).not.toContain("2026-0888");
    await shot(witness, "open");

    await witness.goto(linkUrl.split("#")[0]!);
    await visible(witness.getByRole("alert").getByText(/This link is incomplete/));

    await member.getByRole("button", { name: "Revoke link for High Street fire appeal" }).click();
    await visible(member.getByRole("list", { name: "Submission links" }).getByText("Revoked", { exact: true }));
    await witness.goto(linkUrl);
    await witness.reload();
    await visible(witness.getByRole("alert").getByText(/closed by the investigators/));
    await shot(witness, "revoked");
  });
});
