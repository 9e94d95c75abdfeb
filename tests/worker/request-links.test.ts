/** A video request answered by upload through its submission link (docs/submissions.md §7). */
import { describe, expect, it } from "vitest";
import type { PublicSubmissionLink, SentSubmission } from "../../shared/api/submissions";
import type { VideoRequest } from "../../shared/api/video";
import { auditEvents } from "./audit-helpers";
import { db } from "./backend";
import { openCase, randomBytes, withKeys } from "./evidence-helpers";
import { addUser, call, expectError, setUpOrganisation } from "./helpers";
import { json, linkBody, makeLink, prepareFile, putPart, startSubmission } from "./submission-helpers";
import { createRequest, getRequest, pastRange, siteWithCameras, workItem } from "./video-helpers";

describe("a video request's submission link", () => {
  it("shows the site's contact the cameras, range and reason and nothing else of the case; sending through it delivers the request by upload", async () => {
    const admin = await setUpOrganisation();
    const lead = await withKeys(await addUser(admin.cookie, { email: "lead@example.org", name: "Lee Lead", role: "investigator" }));
    const caseA = await openCase(lead, "2026-0400", { title: "Till robbery at the corner shop" });
    const other = await openCase(lead, "2026-0401", { title: "Another case" });
    const { agent, cameraIds } = await siteWithCameras(admin.cookie);
    const range = pastRange(30);
    const request = await json<VideoRequest>(await createRequest(lead.cookie, { caseId: caseA.id, cameraIds, ...range, reason: "Robbery at the till, 14:05" }), 201);

    // Only for one person, only a request of this case.
    await expectError(await call(`/api/cases/${caseA.id}/submission-links`, { cookie: lead.cookie, body: (await linkBody(caseA, { requestId: request.id })).body }), 400);
    const wrongCase = await call(`/api/cases/${other.id}/submission-links`, { cookie: lead.cookie, body: (await linkBody(other, { audience: "person", requestId: request.id })).body });
    await expectError(wrongCase, 404, "not_found");

    const { link } = await makeLink(lead, caseA, { audience: "person", label: "Corner Shop CCTV", instructions: "Please export the footage asked for.", requestId: request.id });
    expect(link.requestId).toBe(request.id);

    const open = await json<PublicSubmissionLink>(await call(`/api/submit/${link.id}`));
    expect(open.request).toEqual({ cameras: ["Entrance", "Car park"], start: range.start, end: range.end, reason: "Robbery at the till, 14:05" });
    const text = JSON.stringify(open);
    for (const secret of [caseA.id, "2026-0400", "Till robbery", request.id, lead.id, "Lee Lead", "Corner Shop CCTV"]) expect(text).not.toContain(secret);
    // A link of no request says so.
    expect((await json<PublicSubmissionLink>(await call(`/api/submit/${(await makeLink(lead, caseA)).link.id}`))).request).toBeNull();

    // The business sends its export and finishes: the request is delivered by upload.
    const submitter = await startSubmission(link.id);
    const file = await prepareFile(link.id, submitter.submissionId, open.submissionKey, submitter.signer, randomBytes(2000, 7), "export.mp4");
    const sub = `/api/submit/${link.id}/submissions/${submitter.submissionId}`;
    await json(await call(`${sub}/files`, { headers: submitter.auth, body: file.body }), 201);
    expect((await putPart(link.id, submitter, file.fileId, 0, file.parts[0]!)).status).toBe(204);
    await json(await call(`${sub}/files/${file.fileId}/complete`, { headers: submitter.auth, body: { manifest: file.manifest } }));
    expect((await getRequest(lead.cookie, request.id)).status).not.toBe("delivered_by_upload");
    await json<SentSubmission>(await call(`${sub}/finish`, { method: "POST", headers: submitter.auth }));

    const delivered = await getRequest(lead.cookie, request.id);
    expect(delivered.status).toBe("delivered_by_upload");
    expect(delivered.deliveredAt).not.toBeNull();
    const listed = await json<{ requests: VideoRequest[] }>(await call(`/api/video-requests?status=delivered_by_upload`, { cookie: lead.cookie }));
    expect(listed.requests.map((r) => r.id)).toEqual([request.id]);
    // The file carries the request's id, for intake; the site's agent is told to delete anything it holds.
    expect(await db.prepare("SELECT request_id FROM submission_files WHERE id = ?").bind(file.fileId).first()).toEqual({ request_id: request.id });
    const item = await workItem(agent, request.id);
    expect(item).toMatchObject({ status: "delivered_by_upload", purged: false });
    expect((await agent.call(`/api/agent/requests/${request.id}/purged`, { method: "POST" })).status).toBeLessThan(300);
    expect(await workItem(agent, request.id)).toBeUndefined();

    // Finishing again changes nothing; the link cannot bind a delivered request again.
    await json<SentSubmission>(await call(`${sub}/finish`, { method: "POST", headers: submitter.auth }));
    const again = await call(`/api/cases/${caseA.id}/submission-links`, { cookie: lead.cookie, body: (await linkBody(caseA, { audience: "person", requestId: request.id })).body });
    await expectError(again, 409, "request_closed");

    const events = (await auditEvents()).filter((e) => e.action === "video.request_delivered_by_upload");
    expect(events).toHaveLength(1);
    expect(events[0]!.details).toMatchObject({ requestId: request.id, caseId: caseA.id, linkId: link.id, submissionId: submitter.submissionId, files: 1, fileIds: [file.fileId] });
    expect((await auditEvents()).find((e) => e.action === "submission.link_create" && e.details?.linkId === link.id)!.details).toMatchObject({ requestId: request.id });
  });
});
