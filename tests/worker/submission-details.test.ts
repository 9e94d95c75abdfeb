/**
 * A submitter's details (docs/submissions.md §3.1, evidence-format.md §12), as the submit page
 * sends them: encrypted to the link's submission key. The server stores the envelope only; a
 * member of the case opens it (case key → submission key → details); a key of another link cannot.
 */
import { describe, expect, it } from "vitest";
import type { MyCaseKeys } from "../../shared/api/cases";
import type { PublicSubmissionLink, StartedSubmission } from "../../shared/api/submissions";
import { decryptSubmissionDetails, encryptSubmissionDetails, generateUserKeys, KeyUnwrapError, unwrapCaseKey, unwrapSubmissionKey } from "../../shared/crypto";
import { db } from "./backend";
import { openCase, withKeys } from "./evidence-helpers";
import { addUser, call, expectError, setUpOrganisation } from "./helpers";
import { hexId, json, makeLink } from "./submission-helpers";

describe("submission details", () => {
  it("a member of the case opens the submitter's details; the server holds only the envelope; another link's key opens nothing", async () => {
    const admin = await setUpOrganisation();
    await withKeys(admin);
    const lead = await withKeys(await addUser(admin.cookie, { email: "lead@example.org", name: "Lee Lead", role: "investigator" }));
    const caseA = await openCase(lead, "2026-0301", { title: "High Street fire" });
    const { link } = await makeLink(lead, caseA);
    const other = await makeLink(lead, caseA);
    const open = await json<PublicSubmissionLink>(await call(`/api/submit/${link.id}`));
    const said = { name: "Sam Witness", contact: "sam@example.net", statement: "I filmed it from the bus shelter at 21:40." };
    const details = await encryptSubmissionDetails(said, open.submissionKey);
    const { signing } = await generateUserKeys();
    const submissionId = hexId();
    await json<StartedSubmission>(await call(`/api/submit/${link.id}/submissions`, { body: { submissionId, signerKey: signing.publicJwk, details } }), 201);

    const row = await db.prepare("SELECT s.details, l.submission_key_wrap FROM submissions s JOIN submission_links l ON l.id = s.link_id WHERE s.id = ?").bind(submissionId).first<{ details: string; submission_key_wrap: string }>();
    expect(row!.details).toBe(details);
    for (const table of ["submissions", "submission_links"]) {
      const text = JSON.stringify((await db.prepare(`SELECT * FROM ${table}`).all()).results);
      for (const value of Object.values(said)) expect(text).not.toContain(value);
    }
    const { keys } = await json<MyCaseKeys>(await call(`/api/cases/${caseA.id}/keys`, { cookie: lead.cookie }));
    const caseKey = await unwrapCaseKey(keys.find((k) => k.current)!.wrap!, lead.encryption.privateKey);
    const submissionKey = await unwrapSubmissionKey(row!.submission_key_wrap, caseKey.privateKey);
    expect(await decryptSubmissionDetails(row!.details, submissionKey.privateKey)).toEqual({ v: 1, ...said });
    const otherWrap = await db.prepare("SELECT submission_key_wrap FROM submission_links WHERE id = ?").bind(other.link.id).first<{ submission_key_wrap: string }>();
    const otherKey = await unwrapSubmissionKey(otherWrap!.submission_key_wrap, caseKey.privateKey);
    await expect(decryptSubmissionDetails(row!.details, otherKey.privateKey)).rejects.toBeInstanceOf(KeyUnwrapError);

    // Details to another link's key are refused, and start nothing.
    const stray = await encryptSubmissionDetails(said, other.key.publicJwk);
    await expectError(await call(`/api/submit/${link.id}/submissions`, { body: { submissionId: hexId(), signerKey: signing.publicJwk, details: stray } }), 400);
    expect((await db.prepare("SELECT count(*) AS n FROM submissions WHERE link_id = ?").bind(link.id).first<{ n: number }>())!.n).toBe(1);
  });
});
