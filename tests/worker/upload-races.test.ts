/** Uploads under concurrency: each state change happens, and is recorded, exactly once. */
import { describe, expect, it } from "vitest";
import type { PartUrls } from "../../shared/api/cases";
import { auditEvents } from "./audit-helpers";
import { db } from "./backend";
import { openCase, prepareEvidence, randomBytes, sendParts, withKeys } from "./evidence-helpers";
import { call, setUpOrganisation } from "./helpers";

async function startedUpload(bytes = randomBytes(1000)) {
  const lead = await withKeys(await setUpOrganisation());
  const caseDetail = await openCase(lead, "R-1");
  const upload = await prepareEvidence(lead, caseDetail, bytes);
  expect((await call(`/api/cases/${caseDetail.id}/evidence`, { cookie: lead.cookie, body: upload.body })).status).toBe(201);
  return { lead, upload };
}

const eventsOf = async (action: string, evidenceId: string) => (await auditEvents()).filter((e) => e.action === action && e.target.id === evidenceId);

describe("upload races", () => {
  it("records one completion however many arrive at once", async () => {
    const { lead, upload } = await startedUpload();
    for (const response of await sendParts(lead, upload)) expect(response.status).toBe(204);
    const answers = await Promise.all(Array.from({ length: 8 }, () => call(`/api/evidence/${upload.evidenceId}/complete`, { method: "POST", cookie: lead.cookie })));
    for (const answer of answers) expect(answer.status, await answer.clone().text()).toBe(200);
    for (const answer of answers) expect(await answer.json()).toMatchObject({ id: upload.evidenceId, status: "complete" });
    expect(await eventsOf("evidence.upload_complete", upload.evidenceId)).toHaveLength(1);
  });

  it("records nothing new when a stored part is sent again with a still-valid URL, even several times at once", async () => {
    const { lead, upload } = await startedUpload();
    const { urls } = (await (await call(`/api/evidence/${upload.evidenceId}/part-urls`, { cookie: lead.cookie, body: { parts: [0] } })).json()) as PartUrls;
    const put = () => call(urls[0]!.url, { method: "PUT", body: upload.parts[0]!, headers: { "Content-Type": "application/octet-stream" } });
    const together = await Promise.all(Array.from({ length: 4 }, put));
    for (const answer of together) expect(answer.status, await answer.clone().text()).toBe(204);
    expect(await eventsOf("evidence.part_upload", upload.evidenceId)).toHaveLength(1);
    const stored = await db.prepare("SELECT etag, uploaded_at FROM evidence_parts WHERE evidence_id = ?").bind(upload.evidenceId).first();

    expect((await put()).status).toBe(204);
    expect(await eventsOf("evidence.part_upload", upload.evidenceId)).toHaveLength(1);
    expect(await db.prepare("SELECT etag, uploaded_at FROM evidence_parts WHERE evidence_id = ?").bind(upload.evidenceId).first()).toEqual(stored);
    // And the upload still completes with the part as recorded.
    expect((await call(`/api/evidence/${upload.evidenceId}/complete`, { method: "POST", cookie: lead.cookie })).status).toBe(200);
  });
});
