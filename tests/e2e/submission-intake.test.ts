/**
 * Intake end to end in Chromium at phone size (docs/submissions.md §5): a witness with no account
 * sends a photo and a video through a link (sent from Node as the sending page would, with
 * tests/support/submitter.ts); a member sees both in "Submitted" with their source and the
 * witness's name decrypted in the browser, views the photo, accepts it and rejects the video
 * (confirmed); the photo then is evidence marked with its source, and signed by the submitter.
 * Needs `npx vite build` first (the server runs with --no-build).
 */
import { mkdirSync } from "node:fs";
import { resolve } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CaseDetail } from "../../shared/api/cases";
import type { CreatedSubmissionLink } from "../../shared/api/submissions";
import { generateSubmissionKeyPair, wrapSubmissionKey } from "../../shared/crypto";
import { sendThroughLink, type Fetcher } from "../support/submitter";
import { Person } from "./api-client";
import { ADMIN, createCase, createKeys, expectSignedIn, setUpThroughUi, visible } from "./flows";
import { CustodyServer, launchBrowser, phoneContext } from "./harness";

const shots = resolve(import.meta.dirname, "../../test-results/e2e");
mkdirSync(shots, { recursive: true });

/** A 1×1 PNG: a photo the browser can show. */
const PHOTO = Uint8Array.from(atob("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="), (c) => c.charCodeAt(0));

describe("intake: a member reviews what a witness sent, accepts one file and rejects the other", () => {
  let server: CustodyServer;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    server = await CustodyServer.start();
    browser = await launchBrowser();
    page = await (await phoneContext(browser, server.url)).newPage();
    page.on("dialog", (dialog) => void dialog.accept());
  });

  afterAll(async () => {
    await browser?.close();
    await server?.dispose();
  });

  it("sees the photo and the video with their source, views the photo, accepts it, rejects the video; the photo is evidence marked with its source", async () => {
    server.attachLogOnFailure();
    await setUpThroughUi(page);
    await createKeys(page, ADMIN.keyPassphrase);
    await expectSignedIn(page);
    await createCase(page, { number: "2026-0999", title: "Bus stop assault" });
    const caseId = new URL(page.url()).searchParams.get("case")!;

    // The link, made as the member's browser makes it (the submission key wrapped to the case key), then the witness sends.
    const cookie = (await page.context().cookies()).find((c) => c.name === "custody_session")!;
    const member = new Person(server.url, `custody_session=${cookie.value}`, "");
    const detail = await member.json<CaseDetail>(`/api/cases/${caseId}`);
    const key = await generateSubmissionKeyPair();
    const { link } = await member.json<CreatedSubmissionLink>(`/api/cases/${caseId}/submission-links`, {
      body: {
        audience: "public", label: "Bus stop appeal", instructions: "Photos or video of the bus stop on Mill Road, 5 December evening.",
        expiresAt: new Date(Date.now() + 7 * 86_400_000).toISOString(), maxFiles: 5, maxBytes: 10_000_000,
        submissionKey: key.publicJwk, submissionKeyWrap: await wrapSubmissionKey(key.privateJwk, detail.caseKey.publicJwk), caseKid: detail.caseKey.kid,
      },
    });
    const fetcher: Fetcher = (path, init = {}) => fetch(`${server.url}${path}`, { method: init.method ?? "GET", headers: { Origin: server.url, ...init.headers }, ...(init.body !== undefined ? { body: init.body as BodyInit } : {}) });
    await sendThroughLink(fetcher, link.id, key.kid, [
      { bytes: PHOTO, fileName: "bus-stop.png", mediaType: "image/png" },
      { bytes: crypto.getRandomValues(new Uint8Array(20_000)), fileName: "bus-stop.mp4", mediaType: "video/mp4" },
    ], { name: "Sam Witness", statement: "I was waiting for the 42." });

    await page.reload();
    const submitted = page.getByRole("region", { name: "Submitted" });
    const from = submitted.getByRole("article", { name: "Sent through Bus stop appeal" });
    await visible(from.getByText("Sam Witness"), 30_000);
    await visible(from.getByText("I was waiting for the 42."));
    const photo = from.getByRole("listitem", { name: "bus-stop.png" });
    const video = from.getByRole("listitem", { name: "bus-stop.mp4" });
    await visible(photo.getByText("Waiting for review"));
    await visible(video.getByText("Waiting for review"));
    await visible(video.getByRole("button", { name: "Play bus-stop.mp4" }));

    // View: decrypted and checked in the browser against the submitter's signature.
    await photo.getByRole("button", { name: "View bus-stop.png" }).click();
    await visible(photo.getByRole("img", { name: "bus-stop.png" }), 30_000);
    await visible(photo.getByText(/Verified: signed by the submitter \(submission key/), 30_000);
    await page.screenshot({ path: `${shots}/submission-intake-review.png`, fullPage: true });

    await photo.getByRole("button", { name: "Accept bus-stop.png" }).click();
    await visible(photo.getByText("Accepted: it is now in this case's evidence."), 30_000);
    await video.getByRole("button", { name: "Reject bus-stop.mp4" }).click();
    await visible(video.getByText("Rejected and deleted."), 30_000);

    // The photo is evidence now, marked with its source and signed by the submitter; the video is gone.
    const items = page.getByRole("list", { name: "Evidence items" });
    const item = items.getByRole("listitem");
    await visible(item.getByText("Submitted through “Bus stop appeal”"), 30_000);
    await visible(item.getByText(/Signed by the submitter through “Bus stop appeal”/), 30_000);
    expect(await item.count()).toBe(1);
    await page.reload();
    await visible(page.getByRole("region", { name: "Submitted" }).getByText("Nothing waiting for review."), 30_000);
    await page.screenshot({ path: `${shots}/submission-intake-accepted.png`, fullPage: true });
  });
});
