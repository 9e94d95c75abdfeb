/**
 * A site's agent as the API tests drive it: its own keys, signed requests, and the same sealing
 * and delivery code the real agent uses (agent/seal.ts). The real agent process, with ffmpeg
 * and its file system, is exercised end to end in tests/e2e/agent.test.ts.
 */
import { expect } from "vitest";
import { AGENT_AUTH_SCHEME, signAgentRequest } from "../../shared/agent/signature";
import type { PartUrls } from "../../shared/api/cases";
import type { AgentCamera, AgentWork, AgentWorkItem, ClipUpload, SiteCreated, VideoRequest } from "../../shared/api/video";
import { generateUserKeys, importPrivateKey, type UnlockedKey } from "../../shared/crypto";
import { deliveryBody, heldRecord, sealClip, type HeldClip } from "../../agent/seal.ts";
import { backend, bucket, db, type TestWebSocket } from "./backend";
import { call, ORIGIN } from "./helpers";

export interface TestAgent {
  siteId: string;
  siteName: string;
  signing: UnlockedKey;
  encryption: UnlockedKey;
  /** A signed request to the agent API, as the agent sends it (no cookie, no Origin). */
  call(path: string, options?: { method?: string; body?: unknown; headers?: Record<string, string>; signedAt?: number }): Promise<Response>;
}

/** The raw parts of a signed request, to tamper with or replay. */
export async function signedRequest(agent: Pick<TestAgent, "signing">, path: string, options: { method?: string; body?: unknown; signedAt?: number } = {}) {
  const method = options.method ?? (options.body === undefined ? "GET" : "POST");
  const bytes = options.body === undefined ? undefined : new TextEncoder().encode(JSON.stringify(options.body));
  const url = new URL(path, ORIGIN);
  const jws = await signAgentRequest(agent.signing, { method, url, ...(bytes ? { body: bytes } : {}) }, options.signedAt);
  return { method, url, bytes, jws };
}

function agentFor(siteId: string, siteName: string, signing: UnlockedKey, encryption: UnlockedKey): TestAgent {
  return {
    siteId,
    siteName,
    signing,
    encryption,
    async call(path, options = {}) {
      const { method, bytes, jws } = await signedRequest({ signing }, path, options);
      return call(path, {
        method,
        cookie: null,
        ...(bytes ? { body: new TextDecoder().decode(bytes) } : {}),
        headers: { Authorization: `${AGENT_AUTH_SCHEME} ${jws}`, ...(bytes ? { "Content-Type": "application/json" } : {}), ...options.headers },
      });
    },
  };
}

/** Opens the agent's live connection as the agent does: a WebSocket to a signed URL (the signature in `auth`), no cookie, no Origin. */
export async function connectLive(agent: Pick<TestAgent, "signing">): Promise<{ socket: TestWebSocket; url: URL }> {
  const { url, jws } = await signedRequest(agent, "/api/agent/live");
  url.searchParams.set("auth", jws);
  return { socket: await backend.webSocket(new Request(url)), url };
}

/** Registers a site as the administrator; answers the site and its configuration file. */
export async function registerSite(adminCookie: string, name = "Corner Shop", holdDays = 30): Promise<SiteCreated> {
  const response = await call("/api/sites", { cookie: adminCookie, body: { name, address: `${name} Street 1`, holdDays } });
  expect(response.status, await response.clone().text()).toBe(201);
  return (await response.json()) as SiteCreated;
}

/** Enrols an agent with the configuration file's one-time token: fresh keys, enrolment request signed with the new signing key. */
export async function enrolAgent(created: SiteCreated): Promise<TestAgent> {
  const keys = await generateUserKeys();
  const signing = await importPrivateKey(keys.signing.privateJwk, "sign");
  const encryption = await importPrivateKey(keys.encryption.privateJwk, "enc");
  const agent = agentFor(created.site.id, created.site.name, signing, encryption);
  const response = await agent.call("/api/agent/enrol", {
    body: { siteId: created.config.siteId, token: created.config.enrolmentToken, signingKey: keys.signing.publicJwk, encryptionKey: keys.encryption.publicJwk },
  });
  expect(response.status, await response.clone().text()).toBe(201);
  return agent;
}

export const CAMERAS: AgentCamera[] = [
  { archiveId: "entrance", name: "Entrance", latitude: 51.5007, longitude: -0.1246, direction: 90, recorderId: "nvr-1" },
  { archiveId: "car-park", name: "Car park", latitude: 51.51, longitude: -0.13, direction: 180, recorderId: "nvr-1" },
];

/** Registers a site, enrols its agent and syncs its cameras; answers the agent and the cameras' registry ids (in CAMERAS order). */
export async function siteWithCameras(adminCookie: string, name = "Corner Shop", cameras = CAMERAS): Promise<{ agent: TestAgent; created: SiteCreated; cameraIds: string[] }> {
  const created = await registerSite(adminCookie, name);
  const agent = await enrolAgent(created);
  const synced = await agent.call("/api/agent/cameras", { method: "PUT", body: { cameras } });
  expect(synced.status, await synced.clone().text()).toBe(200);
  const list = (await (await call(`/api/cameras?siteId=${created.site.id}`, { cookie: adminCookie })).json()) as { cameras: { id: string; archiveId: string }[] };
  return { agent, created, cameraIds: cameras.map((cam) => list.cameras.find((c) => c.archiveId === cam.archiveId)!.id) };
}

/** A time range that ended `agoMinutes` ago and lasted `minutes`. */
export function pastRange(minutes: number, agoMinutes = 60): { start: string; end: string } {
  const end = Date.now() - agoMinutes * 60_000;
  return { start: new Date(end - minutes * 60_000).toISOString(), end: new Date(end).toISOString() };
}

export async function createRequest(cookie: string, body: { caseId: string; cameraIds: string[]; start: string; end: string; reason?: string }): Promise<Response> {
  return call("/api/video-requests", { cookie, body: { reason: "Robbery at 14:05, suspect left eastwards", ...body } });
}

export async function work(agent: TestAgent): Promise<AgentWork> {
  const response = await agent.call("/api/agent/work");
  expect(response.status, await response.clone().text()).toBe(200);
  return (await response.json()) as AgentWork;
}

export async function workItem(agent: TestAgent, requestId: string): Promise<AgentWorkItem | undefined> {
  return (await work(agent)).requests.find((r) => r.id === requestId);
}

/** A clip held as the agent holds it: its ciphertext parts and its record (file key wrapped to the site's key). */
export interface Held {
  record: HeldClip;
  parts: Uint8Array[];
}

/** Exports a clip as the agent does (exporting → sealed to the site's key → held), with `bytes` for the footage. */
export async function holdClip(agent: TestAgent, item: AgentWorkItem, clip: AgentWorkItem["clips"][number], bytes: Uint8Array): Promise<Held> {
  expect((await agent.call(`/api/agent/clips/${clip.id}/exporting`, { method: "POST" })).status).toBe(204);
  const { fileKey, encryption } = await sealClip(new Blob([bytes as Uint8Array<ArrayBuffer>]), agent.encryption.publicJwk);
  const parts: Uint8Array[] = [];
  for await (const part of encryption) parts.push(part.bytes);
  const record = heldRecord(encryption.summary(), {
    clipId: clip.id,
    requestId: item.id,
    fileKey,
    footageStart: clip.start,
    footageEnd: clip.end,
    durationMs: Date.parse(clip.end) - Date.parse(clip.start),
    camera: clip.camera,
    requestedStart: clip.start,
    requestedEnd: clip.end,
    exportedAt: new Date().toISOString(),
  });
  const held = await agent.call(`/api/agent/clips/${clip.id}/held`, { body: { byteSize: bytes.length, footageStart: clip.start, footageEnd: clip.end, durationMs: record.durationMs } });
  expect(held.status, await held.clone().text()).toBe(204);
  return { record, parts };
}

/** Delivers an approved, held clip into its case as the agent does: start, parts to signed URLs, finish. */
export async function deliverClip(agent: TestAgent, item: AgentWorkItem, held: Held): Promise<string> {
  const evidenceId = Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
  const body = await deliveryBody({ held: held.record, evidenceId, site: { id: agent.siteId, name: agent.siteName }, delivery: item.delivery!, keys: { signing: agent.signing, encryption: agent.encryption } });
  const started = await agent.call(`/api/agent/clips/${held.record.clipId}/evidence`, { body });
  expect(started.status, await started.clone().text()).toBe(201);
  const upload = (await started.json()) as ClipUpload;
  const urls = (await (await agent.call(`/api/agent/clips/${held.record.clipId}/part-urls`, { body: { parts: held.parts.map((_, n) => n) } })).json()) as PartUrls;
  expect(urls.urls).toHaveLength(upload.partCount);
  for (const { part, url } of urls.urls) {
    const put = await call(url, { method: "PUT", cookie: null, body: held.parts[part]!, headers: { "Content-Type": "application/octet-stream" } });
    expect(put.status, await put.clone().text()).toBe(204);
  }
  const done = await agent.call(`/api/agent/clips/${held.record.clipId}/delivered`, { method: "POST" });
  expect(done.status, await done.clone().text()).toBe(200);
  return evidenceId;
}

export async function getRequest(cookie: string, id: string): Promise<VideoRequest> {
  const response = await call(`/api/video-requests/${id}`, { cookie });
  expect(response.status, await response.clone().text()).toBe(200);
  return (await response.json()) as VideoRequest;
}

/** Binds a site operator to a site as the administrator does. */
export async function bindOperator(adminCookie: string, siteId: string, userId: string): Promise<void> {
  const response = await call(`/api/sites/${siteId}/operators/${userId}`, { method: "PUT", cookie: adminCookie });
  expect(response.status, await response.clone().text()).toBe(200);
}

/** Moves a request's expiry into the past (as if its hold days had passed). */
export async function backdateExpiry(requestId: string): Promise<void> {
  await db.prepare("UPDATE video_requests SET expires_at = ? WHERE id = ?").bind(new Date(Date.now() - 1000).toISOString(), requestId).run();
}

/** Every object key in R2. */
export async function r2Keys(): Promise<string[]> {
  const keys: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await bucket.list({ ...(cursor ? { cursor } : {}) });
    keys.push(...page.objects.map((o) => o.key));
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor);
  return keys;
}
