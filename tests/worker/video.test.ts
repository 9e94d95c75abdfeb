import { describe, expect, it } from "vitest";
import { AGENT_AUTH_SCHEME } from "../../shared/agent/signature";
import type { CaseList, EvidenceList, PartUrls } from "../../shared/api/cases";
import type { SignerKey } from "../../shared/api/schemas";
import type { CameraList, ClipUpload, SiteList, VideoRequest, VideoRequestList } from "../../shared/api/video";
import { decryptMetadata, unwrapCaseKey, unwrapFileKey, verifyManifest } from "../../shared/crypto";
import { auditEvents } from "./audit-helpers";
import { backend, db } from "./backend";
import { addMember, downloadEvidence, openCase, randomBytes, removeMember, withKeys, type Person } from "./evidence-helpers";
import { deliveryBody } from "../../agent/seal.ts";
import { addUser, call, expectError, setUpOrganisation } from "./helpers";
import {
  backdateExpiry,
  bindOperator,
  CAMERAS,
  connectLive,
  createRequest,
  deliverClip,
  enrolAgent,
  getRequest,
  holdClip,
  pastRange,
  r2Keys,
  registerSite,
  signedRequest,
  siteWithCameras,
  work,
  workItem,
  type TestAgent,
} from "./video-helpers";

type Admin = Awaited<ReturnType<typeof setUpOrganisation>>;

/** An organisation with an investigator leading a case, a site with an enrolled agent and cameras, and an operator bound to the site. */
async function world() {
  const admin = await setUpOrganisation();
  const ivy = await withKeys(await addUser(admin.cookie, { email: "ivy@example.org", name: "Ivy Investigator", role: "investigator" }));
  const theCase = await openCase(ivy, "V-1");
  const { agent, created, cameraIds } = await siteWithCameras(admin.cookie);
  const olive = await addUser(admin.cookie, { email: "olive@example.org", name: "Olive Operator", role: "site_operator" });
  await bindOperator(admin.cookie, created.site.id, olive.session.user.id);
  return { admin, ivy, theCase, agent, site: created.site, cameraIds, olive };
}

/** A request for the first camera, 10 minutes ending an hour ago, exported and held by the agent. */
async function heldRequest(w: Awaited<ReturnType<typeof world>>, bytes = randomBytes(3000)) {
  const response = await createRequest(w.ivy.cookie, { caseId: w.theCase.id, cameraIds: [w.cameraIds[0]!], ...pastRange(10) });
  expect(response.status, await response.clone().text()).toBe(201);
  const request = (await response.json()) as VideoRequest;
  const item = (await workItem(w.agent, request.id))!;
  const held = await holdClip(w.agent, item, item.clips[0]!, bytes);
  return { request, held, bytes };
}

describe("sites and the agent's enrolment", () => {
  it("registers a site with a one-time token that enrols exactly one agent, which then syncs its cameras", async () => {
    const admin = await setUpOrganisation();
    const created = await registerSite(admin.cookie);
    expect(created.config).toMatchObject({ type: "custody-site-config", siteId: created.site.id, server: "http://localhost:8787" });
    expect(created.site.agent.enrolled).toBe(false);
    // The server keeps only a hash of the token.
    const stored = await db.prepare("SELECT enrolment_token_hash FROM sites WHERE id = ?").bind(created.site.id).first<{ enrolment_token_hash: string }>();
    expect(stored!.enrolment_token_hash).not.toContain(created.config.enrolmentToken);
    expect(stored!.enrolment_token_hash).toMatch(/^[0-9a-f]{64}$/);

    const agent = await enrolAgent(created);
    // The same token again (a copy of the file elsewhere) is refused.
    const again = await agent.call("/api/agent/enrol", {
      body: { siteId: created.site.id, token: created.config.enrolmentToken, signingKey: agent.signing.publicJwk, encryptionKey: agent.encryption.publicJwk },
    });
    await expectError(again, 401, "invalid_enrolment");

    const synced = await agent.call("/api/agent/cameras", { method: "PUT", body: { cameras: CAMERAS } });
    expect(await synced.json()).toEqual({ added: 2, updated: 0, removed: 0 });
    // A second sync with one camera moved and one gone.
    const resynced = await agent.call("/api/agent/cameras", { method: "PUT", body: { cameras: [{ ...CAMERAS[0]!, name: "Front door" }] } });
    expect(await resynced.json()).toEqual({ added: 0, updated: 1, removed: 1 });
    const cameras = (await (await call("/api/cameras", { cookie: admin.cookie })).json()) as CameraList;
    expect(cameras.cameras.map((c) => c.name)).toEqual(["Front door"]);
    const site = ((await (await call("/api/sites", { cookie: admin.cookie })).json()) as SiteList).sites[0]!;
    expect(site.agent.enrolled).toBe(true);
    expect(site.cameraCount).toBe(1);
    const actions = (await auditEvents()).map((e) => e.action);
    expect(actions).toEqual(expect.arrayContaining(["site.create", "site.agent_enrol", "camera.sync"]));
  });

  it("refuses a wrong token, an unsigned enrolment, and a new token retires the old agent's keys", async () => {
    const admin = await setUpOrganisation();
    const created = await registerSite(admin.cookie);
    const wrong = await enrolAgent({ ...created, config: { ...created.config, enrolmentToken: "made-up" } }).catch((e: unknown) => e);
    expect(wrong).toBeInstanceOf(Error);
    const unsigned = await call("/api/agent/enrol", { cookie: null, body: { siteId: created.site.id, token: created.config.enrolmentToken, signingKey: created.config.siteId, encryptionKey: {} } });
    expect(unsigned.status).toBe(400);
    const first = await enrolAgent(created);
    expect((await first.call("/api/agent/site")).status).toBe(200);
    const reissued = await call(`/api/sites/${created.site.id}/enrolment`, { method: "POST", cookie: admin.cookie });
    expect(reissued.status).toBe(200);
    const second = await enrolAgent((await reissued.json()) as typeof created);
    expect((await second.call("/api/agent/site")).status).toBe(200);
    await expectError(await first.call("/api/agent/site"), 401, "agent_unauthenticated");
  });

  it("only lets administrators register sites and issue enrolment tokens", async () => {
    const admin = await setUpOrganisation();
    const ivy = await addUser(admin.cookie, { email: "ivy@example.org", name: "Ivy", role: "investigator" });
    await expectError(await call("/api/sites", { cookie: ivy.cookie, body: { name: "Mine", address: "", holdDays: 3 } }), 403);
    const created = await registerSite(admin.cookie);
    await expectError(await call(`/api/sites/${created.site.id}/enrolment`, { method: "POST", cookie: ivy.cookie }), 403);
  });
});

describe("signed agent requests", () => {
  it("refuses unsigned, tampered, replayed, stale and foreign-key requests", async () => {
    const admin = await setUpOrganisation();
    const agent = await enrolAgent(await registerSite(admin.cookie));
    await expectError(await call("/api/agent/work", { cookie: null }), 401, "agent_unauthenticated");
    // A session is no substitute for the agent's signature.
    await expectError(await call("/api/agent/work", { cookie: admin.cookie }), 401, "agent_unauthenticated");

    const body = { cameras: CAMERAS };
    const signed = await signedRequest(agent, "/api/agent/cameras", { method: "PUT", body });
    const send = (bytes: string, jws = signed.jws, path = "/api/agent/cameras") =>
      call(path, { method: "PUT", cookie: null, body: bytes, headers: { Authorization: `${AGENT_AUTH_SCHEME} ${jws}`, "Content-Type": "application/json" } });
    // Another body under the same signature.
    await expectError(await send(JSON.stringify({ cameras: [CAMERAS[0]] })), 401, "agent_unauthenticated");
    // The signature is for the path it names.
    const other = await signedRequest(agent, "/api/agent/work");
    await expectError(await call("/api/agent/site", { cookie: null, headers: { Authorization: `${AGENT_AUTH_SCHEME} ${other.jws}` } }), 401);
    // The genuine request works once; the same bytes again are a replay.
    expect((await send(new TextDecoder().decode(signed.bytes))).status).toBe(200);
    await expectError(await send(new TextDecoder().decode(signed.bytes)), 401, "agent_unauthenticated");
    // Signed ten minutes ago.
    await expectError(await agent.call("/api/agent/work", { signedAt: Date.now() - 10 * 60_000 }), 401, "agent_unauthenticated");
    // Signed by a key that is not enrolled.
    const stranger = await enrolAgent(await registerSite(admin.cookie, "Other Site"));
    const forged: TestAgent = { ...agent, signing: { ...stranger.signing, kid: agent.signing.kid } };
    const forgedCall = await signedRequest(forged, "/api/agent/work");
    await expectError(await call("/api/agent/work", { cookie: null, headers: { Authorization: `${AGENT_AUTH_SCHEME} ${forgedCall.jws}` } }), 401);
  });
});

describe("video requests", () => {
  it("delivers an approved request into the case: signed by the site agent, with the camera metadata and the request id, decryptable by the case's members", async () => {
    const w = await world();
    const { request, held, bytes } = await heldRequest(w);
    // The operator's inbox shows it held, without the case.
    const inbox = (await (await call("/api/video-requests?status=held", { cookie: w.olive.cookie })).json()) as VideoRequestList;
    expect(inbox.requests.map((r) => r.id)).toEqual([request.id]);
    expect(inbox.requests[0]!.case).toBeNull();
    // Before approval the agent learns nothing of the case.
    expect((await workItem(w.agent, request.id))!.delivery).toBeNull();

    const approved = await call(`/api/video-requests/${request.id}/approve`, { method: "POST", cookie: w.olive.cookie });
    expect(approved.status, await approved.clone().text()).toBe(200);
    const item = (await workItem(w.agent, request.id))!;
    expect(item.status).toBe("approved");
    expect(item.delivery).toMatchObject({ caseId: w.theCase.id, caseKey: { kid: w.theCase.caseKey.kid } });
    const evidenceId = await deliverClip(w.agent, item, held);

    const done = await getRequest(w.ivy.cookie, request.id);
    expect(done).toMatchObject({ status: "delivered", case: { id: w.theCase.id }, decidedBy: { id: w.olive.session.user.id }, requestedBy: { id: w.ivy.id } });
    expect(done.clips[0]).toMatchObject({ status: "delivered", evidenceId, byteSize: bytes.length });
    const listed = (await (await call(`/api/cases/${w.theCase.id}/evidence`, { cookie: w.ivy.cookie })).json()) as EvidenceList;
    expect(listed.evidence.map((e) => e.id)).toEqual([evidenceId]);
    // A member decrypts it exactly; the manifest is the agent's, naming the request, with the camera inside.
    expect(await downloadEvidence(w.ivy, evidenceId)).toEqual(bytes);
    const signer = (await (await call(`/api/keys/signers/${listed.evidence[0]!.signerKid}`, { cookie: w.ivy.cookie })).json()) as SignerKey;
    expect(signer.owner).toEqual({ type: "agent", id: w.site.id, name: "Corner Shop (site agent)" });
    const manifest = await verifyManifest(listed.evidence[0]!.manifest, signer.publicJwk);
    expect(manifest).toMatchObject({ requestId: request.id, uploaderId: w.site.id, caseId: w.theCase.id, byteSize: bytes.length });
    const release = (await (await call(`/api/evidence/${evidenceId}/key`, { cookie: w.ivy.cookie })).json()) as { fileKey: string; caseKeyWrap: string };
    const caseKey = await unwrapCaseKey(release.caseKeyWrap, w.ivy.encryption.privateKey);
    const metadata = await decryptMetadata(manifest.metadata, await unwrapFileKey(release.fileKey, caseKey.privateKey));
    expect(metadata).toMatchObject({ mediaType: "video/mp4", camera: { name: "Entrance", archiveId: "entrance", latitude: 51.5007, direction: 90, recorderId: "nvr-1", siteName: "Corner Shop", requestId: request.id } });

    // After delivery the agent deletes its held copy and says so.
    expect((await w.agent.call(`/api/agent/requests/${request.id}/purged`, { method: "POST" })).status).toBe(204);
    expect(await workItem(w.agent, request.id)).toBeUndefined();
    // Every step is on the trail, the agent's steps as the agent's.
    const events = (await auditEvents()).filter((e) => (e.details as { requestId?: string }).requestId === request.id);
    expect(events.map((e) => e.action)).toEqual([
      "video.request_create",
      "video.export_start",
      "video.clip_held",
      "video.request_held",
      "video.request_approve",
      "video.delivery_start",
      "video.clip_delivered",
      "video.request_delivered",
      "video.held_deleted",
    ]);
    expect(events.find((e) => e.action === "video.clip_held")!.actor).toMatchObject({ type: "agent", id: w.site.id });
    expect(events.find((e) => e.action === "video.request_approve")!.actor).toMatchObject({ type: "user", id: w.olive.session.user.id });
    expect((await auditEvents()).filter((e) => e.action === "evidence.part_upload").every((e) => e.actor.type === "agent")).toBe(true);
  });

  it("resumes an interrupted delivery with the parts the server lacks, and re-wraps to a case key changed after approval", async () => {
    const w = await world();
    const bytes = randomBytes(9 * 1024 * 1024, 7); // two ciphertext parts
    const { request, held } = await heldRequest(w, bytes);
    expect(held.parts).toHaveLength(2);
    expect((await call(`/api/video-requests/${request.id}/approve`, { method: "POST", cookie: w.olive.cookie })).status).toBe(200);
    const stale = (await workItem(w.agent, request.id))!;
    // A member leaves the case after the approval: the case key rotates, and a delivery wrapped to the old key is refused.
    const vera = await withKeys(await addUser(w.admin.cookie, { email: "vera@example.org", name: "Vera", role: "investigator" }));
    expect((await addMember(w.ivy, w.theCase.id, vera, "viewer")).status).toBe(201);
    expect((await removeMember(w.ivy, w.theCase.id, vera, [w.ivy])).status).toBe(200);
    const evidenceId = "a".repeat(32);
    const keys = { signing: w.agent.signing, encryption: w.agent.encryption };
    const site = { id: w.agent.siteId, name: w.agent.siteName };
    const old = await deliveryBody({ held: held.record, evidenceId, site, delivery: stale.delivery!, keys });
    await expectError(await w.agent.call(`/api/agent/clips/${held.record.clipId}/evidence`, { body: old }), 409, "case_key_changed");
    const fresh = (await workItem(w.agent, request.id))!;
    expect(fresh.delivery!.caseKey.kid).not.toBe(stale.delivery!.caseKey.kid);
    const body = await deliveryBody({ held: held.record, evidenceId, site, delivery: fresh.delivery!, keys });
    expect((await w.agent.call(`/api/agent/clips/${held.record.clipId}/evidence`, { body })).status).toBe(201);
    // One part arrives, then the agent stops; finishing now is refused.
    const urls = (await (await w.agent.call(`/api/agent/clips/${held.record.clipId}/part-urls`, { body: { parts: [0] } })).json()) as PartUrls;
    expect((await call(urls.urls[0]!.url, { method: "PUT", cookie: null, body: held.parts[0]!, headers: { "Content-Type": "application/octet-stream" } })).status).toBe(204);
    await expectError(await w.agent.call(`/api/agent/clips/${held.record.clipId}/delivered`, { method: "POST" }), 409, "parts_missing");
    // After a restart the same delivery resumes: the server says which part it has.
    const resumed = await w.agent.call(`/api/agent/clips/${held.record.clipId}/evidence`, { body });
    expect(resumed.status).toBe(200);
    expect(((await resumed.json()) as ClipUpload).received).toEqual([0]);
    const rest = (await (await w.agent.call(`/api/agent/clips/${held.record.clipId}/part-urls`, { body: { parts: [1] } })).json()) as PartUrls;
    expect((await call(rest.urls[0]!.url, { method: "PUT", cookie: null, body: held.parts[1]!, headers: { "Content-Type": "application/octet-stream" } })).status).toBe(204);
    expect((await w.agent.call(`/api/agent/clips/${held.record.clipId}/delivered`, { method: "POST" })).status).toBe(200);
    expect((await getRequest(w.ivy.cookie, request.id)).status).toBe("delivered");
    // The remaining member opens it with the new key; the member who left cannot see it.
    expect(await downloadEvidence(w.ivy, evidenceId)).toEqual(bytes);
    await expectError(await call(`/api/evidence/${evidenceId}`, { cookie: vera.cookie }), 404);
  });

  it("on denial sends nothing: no evidence, nothing in R2, no key; the agent is told to delete its copy", async () => {
    const w = await world();
    const { request } = await heldRequest(w);
    const denied = await call(`/api/video-requests/${request.id}/deny`, { cookie: w.olive.cookie, body: { note: "Footage shows staff only" } });
    expect(denied.status, await denied.clone().text()).toBe(200);
    expect(((await denied.json()) as VideoRequest).status).toBe("denied");
    const item = (await workItem(w.agent, request.id))!;
    expect(item).toMatchObject({ status: "denied", purged: false, delivery: null });
    // Approving now, or delivering, is refused.
    await expectError(await call(`/api/video-requests/${request.id}/approve`, { method: "POST", cookie: w.olive.cookie }), 409, "already_decided");
    await expectError(await w.agent.call(`/api/agent/clips/${item.clips[0]!.id}/evidence`, { body: { evidenceId: "0".repeat(32), manifest: "a.b.c", fileKey: { caseKid: w.theCase.caseKey.kid, jwe: "a.b.c.d.e" }, label: "a.b.c.d.e" } }), 409, "not_approved");
    expect((await w.agent.call(`/api/agent/requests/${request.id}/purged`, { method: "POST" })).status).toBe(204);
    expect(await workItem(w.agent, request.id)).toBeUndefined();
    const after = await getRequest(w.ivy.cookie, request.id);
    expect(after).toMatchObject({ status: "denied", decisionNote: "Footage shows staff only" });
    expect(after.purgedAt).not.toBeNull();
    expect(after.clips.map((k) => k.status)).toEqual(["purged"]);
    expect(((await (await call(`/api/cases/${w.theCase.id}/evidence`, { cookie: w.ivy.cookie })).json()) as EvidenceList).evidence).toEqual([]);
    expect(await r2Keys()).toEqual([]);
    expect((await db.prepare("SELECT count(*) AS n FROM evidence").first<{ n: number }>())!.n).toBe(0);
  });

  it("of a concurrent approve and deny, exactly one happens and is recorded", async () => {
    const w = await world();
    const { request } = await heldRequest(w);
    const answers = await Promise.all([
      call(`/api/video-requests/${request.id}/approve`, { method: "POST", cookie: w.olive.cookie }),
      call(`/api/video-requests/${request.id}/deny`, { cookie: w.olive.cookie, body: { note: "" } }),
    ]);
    expect(answers.map((r) => r.status).sort()).toEqual([200, 409]);
    const winner = answers[0]!.status === 200 ? "approved" : "denied";
    expect((await getRequest(w.ivy.cookie, request.id)).status).toBe(winner);
    const decisions = (await auditEvents()).filter((e) => ["video.request_approve", "video.request_deny"].includes(e.action));
    expect(decisions.filter((e) => e.outcome === "success").map((e) => e.action)).toEqual([winner === "approved" ? "video.request_approve" : "video.request_deny"]);
  });

  it("ends as video unavailable when the archive has no footage, and holds only what exists", async () => {
    const w = await world();
    const response = await createRequest(w.ivy.cookie, { caseId: w.theCase.id, cameraIds: w.cameraIds, ...pastRange(10) });
    const request = (await response.json()) as VideoRequest;
    const item = (await workItem(w.agent, request.id))!;
    for (const clip of item.clips) {
      expect((await w.agent.call(`/api/agent/clips/${clip.id}/exporting`, { method: "POST" })).status).toBe(204);
      expect((await getRequest(w.ivy.cookie, request.id)).status).toBe("exporting");
      expect((await w.agent.call(`/api/agent/clips/${clip.id}/unavailable`, { body: { reason: "No recording covers this range." } })).status).toBe(204);
    }
    const after = await getRequest(w.ivy.cookie, request.id);
    expect(after.status).toBe("unavailable");
    expect(after.clips.map((k) => k.unavailable)).toEqual(["No recording covers this range.", "No recording covers this range."]);
    await expectError(await call(`/api/video-requests/${request.id}/approve`, { method: "POST", cookie: w.olive.cookie }), 409);
    expect((await auditEvents()).some((e) => e.action === "video.request_unavailable")).toBe(true);
  });

  it("refuses approval while exporting, and a report for a request decided meanwhile", async () => {
    const w = await world();
    const request = (await (await createRequest(w.ivy.cookie, { caseId: w.theCase.id, cameraIds: [w.cameraIds[0]!], ...pastRange(5) })).json()) as VideoRequest;
    await expectError(await call(`/api/video-requests/${request.id}/approve`, { method: "POST", cookie: w.olive.cookie }), 409, "not_held");
    const clip = (await workItem(w.agent, request.id))!.clips[0]!;
    expect((await w.agent.call(`/api/agent/clips/${clip.id}/exporting`, { method: "POST" })).status).toBe(204);
    expect((await call(`/api/video-requests/${request.id}/deny`, { cookie: w.olive.cookie, body: { note: "" } })).status).toBe(200);
    await expectError(await w.agent.call(`/api/agent/clips/${clip.id}/held`, { body: { byteSize: 10, footageStart: request.start, footageEnd: request.end, durationMs: 1 } }), 409, "request_closed");
  });

  it("validates the range: over 2 hours refused at creation, 90 minutes cut into 60-minute clips per camera, cameras of one site", async () => {
    const w = await world();
    const tooLong = await createRequest(w.ivy.cookie, { caseId: w.theCase.id, cameraIds: [w.cameraIds[0]!], ...pastRange(121) });
    expect((await expectError(tooLong, 400, "validation_failed")).error.message).toMatch(/2 hours/);
    await expectError(await createRequest(w.ivy.cookie, { caseId: w.theCase.id, cameraIds: [w.cameraIds[0]!], ...pastRange(10, -30) }), 400, "range_in_future");
    const range = pastRange(90);
    const ok = await createRequest(w.ivy.cookie, { caseId: w.theCase.id, cameraIds: w.cameraIds, ...range });
    expect(ok.status).toBe(201);
    const clips = ((await ok.json()) as VideoRequest).clips;
    expect(clips.map((k) => [k.camera.archiveId, Date.parse(k.end) - Date.parse(k.start)])).toEqual([
      ["entrance", 60 * 60_000],
      ["entrance", 30 * 60_000],
      ["car-park", 60 * 60_000],
      ["car-park", 30 * 60_000],
    ]);
    expect(clips[0]!.start).toBe(range.start);
    expect(clips[1]!.end).toBe(range.end);
    const other = await siteWithCameras(w.admin.cookie, "Bakery", [{ archiveId: "till", name: "Till", latitude: null, longitude: null, direction: null, recorderId: "" }]);
    await expectError(await createRequest(w.ivy.cookie, { caseId: w.theCase.id, cameraIds: [w.cameraIds[0]!, other.cameraIds[0]!], ...pastRange(10) }), 400, "cameras_span_sites");
  });

  it("lets only contributors and leads of the target case request, and only its members see the request", async () => {
    const w = await world();
    const vera = await withKeys(await addUser(w.admin.cookie, { email: "vera@example.org", name: "Vera", role: "investigator" }));
    const body = { caseId: w.theCase.id, cameraIds: [w.cameraIds[0]!], ...pastRange(10) };
    await expectError(await createRequest(vera.cookie, body), 404);
    expect((await addMember(w.ivy, w.theCase.id, vera, "viewer")).status).toBe(201);
    await expectError(await createRequest(vera.cookie, body), 403, "case_role");
    const request = (await (await createRequest(w.ivy.cookie, body)).json()) as VideoRequest;
    // A viewer member sees it; a non-member does not; case members cannot decide.
    expect((await getRequest(vera.cookie, request.id)).case?.id).toBe(w.theCase.id);
    const outsider = await withKeys(await addUser(w.admin.cookie, { email: "otto@example.org", name: "Otto", role: "investigator" }));
    await expectError(await call(`/api/video-requests/${request.id}`, { cookie: outsider.cookie }), 404);
    expect(((await (await call("/api/video-requests", { cookie: outsider.cookie })).json()) as VideoRequestList).requests).toEqual([]);
    await expectError(await call(`/api/video-requests/${request.id}/approve`, { method: "POST", cookie: w.ivy.cookie }), 403, "not_site_operator");
    await expectError(await createRequest(w.olive.cookie, body), 403);
  });

  it("shows a site operator only their own site's requests and no case at all", async () => {
    const w = await world();
    const other = await siteWithCameras(w.admin.cookie, "Bakery");
    const ours = (await (await createRequest(w.ivy.cookie, { caseId: w.theCase.id, cameraIds: [w.cameraIds[0]!], ...pastRange(10) })).json()) as VideoRequest;
    const theirs = (await (await createRequest(w.ivy.cookie, { caseId: w.theCase.id, cameraIds: [other.cameraIds[0]!], ...pastRange(10) })).json()) as VideoRequest;
    const list = ((await (await call("/api/video-requests", { cookie: w.olive.cookie })).json()) as VideoRequestList).requests;
    expect(list.map((r) => r.id)).toEqual([ours.id]);
    expect(list.every((r) => r.case === null)).toBe(true);
    expect(JSON.stringify(list)).not.toContain(w.theCase.number);
    expect(JSON.stringify(list)).not.toContain(w.theCase.id);
    await expectError(await call(`/api/video-requests/${theirs.id}`, { cookie: w.olive.cookie }), 404);
    await expectError(await call(`/api/video-requests/${theirs.id}/deny`, { cookie: w.olive.cookie, body: { note: "" } }), 404);
    // No case, by list or by id, and no other site's cameras or site.
    expect(((await (await call("/api/cases", { cookie: w.olive.cookie })).json()) as CaseList).cases).toEqual([]);
    await expectError(await call(`/api/cases/${w.theCase.id}`, { cookie: w.olive.cookie }), 404);
    await expectError(await call(`/api/cases/${w.theCase.id}/evidence`, { cookie: w.olive.cookie }), 404);
    const cameras = ((await (await call("/api/cameras", { cookie: w.olive.cookie })).json()) as CameraList).cameras;
    expect(new Set(cameras.map((c) => c.site.id))).toEqual(new Set([w.site.id]));
    expect(((await (await call("/api/sites", { cookie: w.olive.cookie })).json()) as SiteList).sites.map((s) => s.id)).toEqual([w.site.id]);
    await expectError(await call(`/api/sites/${other.created.site.id}`, { cookie: w.olive.cookie }), 404);
    // An agent sees only its own site's work, and cannot touch another site's clips.
    expect((await work(other.agent)).requests.map((r) => r.id)).toEqual([theirs.id]);
    await expectError(await other.agent.call(`/api/agent/clips/${ours.clips[0]!.id}/exporting`, { method: "POST" }), 404);
  });

  it("expires a request left without a decision: the site's alarm closes it and the agent is told to delete its copy", async () => {
    const w = await world();
    const { request } = await heldRequest(w);
    expect((await getRequest(w.ivy.cookie, request.id)).expiresAt > new Date(Date.now() + 29 * 86_400_000).toISOString()).toBe(true);
    const { socket } = await connectLive(w.agent);
    await socket.received(1);
    await backdateExpiry(request.id);
    expect(await backend.runDurableObjectAlarm("SITE_LIVE", w.site.id)).toBe(true);
    expect((await getRequest(w.ivy.cookie, request.id)).status).toBe("expired");
    // The connected agent hears of it at once; nothing else is due, so no alarm is left set.
    expect(JSON.parse((await socket.received(2))[1]!)).toEqual({ type: "work" });
    expect(await backend.runDurableObjectAlarm("SITE_LIVE", w.site.id)).toBe(false);
    socket.close(1000, "done");
    await expectError(await call(`/api/video-requests/${request.id}/approve`, { method: "POST", cookie: w.olive.cookie }), 409, "already_decided");
    expect((await workItem(w.agent, request.id))).toMatchObject({ status: "expired", purged: false });
    expect((await w.agent.call(`/api/agent/requests/${request.id}/purged`, { method: "POST" })).status).toBe(204);
    const expiry = (await auditEvents()).find((e) => e.action === "video.request_expire");
    expect(expiry).toMatchObject({ actor: { type: "system" }, details: { requestId: request.id, from: "held" } });
  });

  it("finds cameras nearest first", async () => {
    const w = await world();
    await siteWithCameras(w.admin.cookie, "Bakery", [
      { archiveId: "till", name: "Till", latitude: 51.5008, longitude: -0.1247, direction: null, recorderId: "" },
      { archiveId: "attic", name: "Attic", latitude: null, longitude: null, direction: null, recorderId: "" },
    ]);
    const near = ((await (await call("/api/cameras?lat=51.5009&lon=-0.1248", { cookie: w.ivy.cookie })).json()) as CameraList).cameras;
    expect(near.map((c) => c.name)).toEqual(["Till", "Entrance", "Car park", "Attic"]);
    expect(near[0]!.distanceMetres).toBeLessThan(near[1]!.distanceMetres!);
    expect(near[3]!.distanceMetres).toBeNull();
    await expectError(await call("/api/cameras?lat=51.5", { cookie: w.ivy.cookie }), 400);
  });

  it("tells a connected agent at once when it has work", async () => {
    const w = await world();
    const { socket, url } = await connectLive(w.agent);
    expect(await socket.received(1)).toEqual([JSON.stringify({ type: "work" })]);
    const connected = async () => ((await (await call(`/api/sites/${w.site.id}`, { cookie: w.admin.cookie })).json()) as { agent: { connected: boolean } }).agent.connected;
    expect(await connected()).toBe(true);
    const request = (await (await createRequest(w.ivy.cookie, { caseId: w.theCase.id, cameraIds: [w.cameraIds[0]!], ...pastRange(10) })).json()) as VideoRequest;
    expect(JSON.parse((await socket.received(2))[1]!)).toEqual({ type: "work", requestId: request.id });
    socket.close(1000, "done");
    await socket.closed;
    // Administrators see it go offline.
    for (let i = 0; i < 50 && (await connected()); i++) await new Promise((done) => setTimeout(done, 20));
    expect(await connected()).toBe(false);
    // The same signed URL cannot open a second connection.
    await expectError(await call(url.pathname + url.search, { cookie: null, headers: { Upgrade: "websocket" } }), 401);
  });
});

export type { Person, Admin };
