/**
 * `npm run agent -- --config site.json send --camera ID (--from T --to T | --snapshot --at T) --link URL`
 * (docs/agent.md, "Sending on the site's own initiative"): an operator sends video, or a still,
 * without a request. The footage is cut from the archive as a requested clip is (a still: one
 * frame, by ffmpeg, as JPEG), encrypted at once into the holding area under a key wrapped to the
 * site's own key, then sent through the submission link's public API: the file key re-wrapped to
 * the link's submission key, the camera metadata under the file key, the manifest signed by the
 * agent's own signing key. The held copy is deleted once the link has it all.
 */
import type { JWK } from "jose";
import { MAX_REQUEST_MS, type AgentSite, type AgentWork } from "../shared/api/video.ts";
import type { PublicSubmissionLink, SentSubmission, StartedSubmission, SubmissionFileState } from "../shared/api/submissions.ts";
import { encryptLabel, encryptMetadata, fromBase64url, partCount, rewrapFileKey, signManifest, submissionKeyMatches, unwrapFileKey } from "../shared/crypto/index.ts";
import { createSha512Wasm } from "../web/src/upload/sha512-wasm.ts";
import { AgentApi, ApiFailure, loadOrEnrol, readAnswer } from "./api.ts";
import { Archive } from "./archive.ts";
import type { AgentConfig } from "./config.ts";
import { Holding } from "./holding.ts";
import { ensurePrivateDir, exists, fileSize, join, remove, run } from "./platform.ts";
import type { HeldClip } from "./seal.ts";

export const SEND_USAGE =
  "usage: npm run agent -- --config <site.json> send --camera <archiveId> (--from <time> --to <time> | --snapshot --at <time>) (--link <submission link> | --request <request id>)";

export interface SendOptions {
  camera: string;
  /** Through a submission link (exactly one of link and request). */
  link?: string;
  /** Into a video request made to this site: its clip of this camera, held like one the agent exported. */
  request?: string;
  /** A clip: [from, to). */
  from?: number;
  to?: number;
  /** A still: the frame at this time. */
  at?: number;
}

/** A usage mistake: main exits with status 2 and the usage line. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

function time(flag: string, value: string | undefined): number {
  if (!value) throw new UsageError(`${flag} needs a date and time, e.g. 2026-12-06T21:30:00Z.`);
  const t = Date.parse(value);
  if (Number.isNaN(t) || !/\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/.test(value)) throw new UsageError(`${flag} ${value}: not a date and time (ISO 8601, e.g. 2026-12-06T21:30:00Z).`);
  return t;
}

/** Reads the arguments after `send`. */
export function parseSendArgs(args: string[]): SendOptions {
  const value = (flag: string) => {
    const at = args.indexOf(flag);
    return at >= 0 ? args[at + 1] : undefined;
  };
  const camera = value("--camera");
  if (!camera) throw new UsageError("Say which camera: --camera <archiveId> (as in the configuration file).");
  const request = value("--request");
  if (args.includes("--request")) {
    if (!request || !/^[0-9a-f]{32}$/.test(request)) throw new UsageError("--request needs the request's id (32 letters and digits, as the request shows it).");
    if (args.includes("--link")) throw new UsageError("Give --link or --request, not both.");
    if (args.includes("--snapshot")) throw new UsageError("A request asks for video: send a still through a submission link (--link).");
    // The request's own range unless the operator narrows it.
    if (!args.includes("--from") && !args.includes("--to")) return { camera, request };
  }
  const link = value("--link");
  if (!link && !request) throw new UsageError("Say where to send it: --link <the submission link you were given>, or --request <the id of a request made to this site>.");
  const target = link ? { link } : { request: request! };
  if (args.includes("--snapshot")) {
    if (args.includes("--from") || args.includes("--to")) throw new UsageError("A still is one moment: give --at, not --from and --to.");
    return { camera, ...target, at: time("--at", value("--at")) };
  }
  const from = time("--from", value("--from"));
  const to = time("--to", value("--to"));
  if (to <= from) throw new UsageError("--to must be after --from.");
  if (to - from > MAX_REQUEST_MS) throw new UsageError("One clip covers at most 2 hours: send a longer range as several clips.");
  if (to > Date.now() + 60_000) throw new UsageError("The range ends in the future: there is no footage of it yet.");
  return { camera, ...target, from, to };
}

/** The submission link's parts: its server, id and the submission key's id (the fragment). */
export function parseLink(link: string): { origin: string; linkId: string; kid: string } {
  let url: URL;
  try {
    url = new URL(link);
  } catch {
    throw new UsageError(`${link}: not a link. Copy the whole submission link you were given (https://…/submit/…#…).`);
  }
  const id = /^\/submit\/([A-Za-z0-9_-]{43})$/.exec(url.pathname)?.[1];
  const kid = url.hash.slice(1);
  if (!id) throw new UsageError(`${link}: not a submission link (it should look like https://…/submit/…#…).`);
  if (!/^[A-Za-z0-9_-]{43}$/.test(kid)) throw new UsageError("The link has lost its end (the part after #). Copy the whole link you were given.");
  return { origin: url.origin, linkId: id, kid };
}

function newId(): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
}

const stamp = (t: string) => t.replace(/\.\d+Z$/, "Z").replaceAll(":", "-");

/** Cuts a still (one frame, JPEG) at `at` from the camera's archive into `out`; false when there is no footage then. */
async function cutStill(archive: Archive, config: AgentConfig, archiveId: string, at: number, out: string): Promise<boolean> {
  const segment = (await archive.segmentsFor(archiveId, at, at + 1)).find((s) => s.start <= at && at < s.start + s.durationMs);
  if (!segment) return false;
  const offset = ((at - segment.start) / 1000).toFixed(3);
  const result = await run(
    config.ffmpeg,
    ["-hide_banner", "-nostdin", "-v", "error", "-ss", offset, "-i", segment.path, "-frames:v", "1", "-q:v", "2", "-f", "image2", "-c:v", "mjpeg", "-y", out],
    { timeoutMs: 5 * 60_000 },
  );
  if (result.code !== 0) throw new Error(`ffmpeg failed to cut the still (exit ${result.code}): ${result.stderr.trim().slice(-2000)}`);
  return (await exists(out)) && (await fileSize(out)) > 0;
}

/** What was sent, for the receipt printed at the end. */
export interface SendReceipt {
  fileId: string;
  fileName: string;
  byteSize: number;
  sha512: string;
  sentAt: string;
}

/** What `send --request` held: the request's clip, now waiting for the camera owner's decision. */
export interface HeldReceipt {
  requestId: string;
  clipId: string;
  byteSize: number;
  sha512: string;
  footageStart: string;
  footageEnd: string;
}

/**
 * `send --request`: cuts the request's clip of this camera (its range, or the part of it given),
 * encrypts it at once into the holding area and reports it held, exactly as the running agent
 * does for a requested clip; it then waits for the camera owner's decision, and the agent sends it
 * into the case on approval (or deletes it on denial). For a site whose agent does not run all the
 * time, or footage the automatic export missed.
 */
export async function sendToRequest(config: AgentConfig, options: SendOptions & { request: string }, log: (line: string) => void): Promise<HeldReceipt> {
  const camera = config.cameras.find((c) => c.archiveId === options.camera);
  if (!camera) {
    throw new Error(`No camera "${options.camera}" in the configuration file. Its cameras: ${config.cameras.map((c) => c.archiveId).join(", ") || "none"}.`);
  }
  const keys = await loadOrEnrol(config, log);
  const api = new AgentApi(config.server, keys);
  const work = await api.request<AgentWork>("GET", "/api/agent/work");
  const request = work.requests.find((r) => r.id === options.request);
  if (!request) throw new Error(`No request ${options.request} is open for this site: check the id on the request's page.`);
  const clip = request.clips.find((k) => k.camera.archiveId === camera.archiveId);
  if (!clip) throw new Error(`Request ${request.id} does not ask for camera "${camera.name}". It asks for: ${request.clips.map((k) => k.camera.archiveId).join(", ")}.`);
  if (clip.status !== "pending" && clip.status !== "exporting") {
    throw new Error(`Request ${request.id} cannot take footage of "${camera.name}" any more: its clip is ${clip.status} (the request is ${request.status}).`);
  }
  const from = options.from ?? Date.parse(clip.start);
  const to = options.to ?? Date.parse(clip.end);
  if (from < Date.parse(clip.start) || to > Date.parse(clip.end)) {
    throw new UsageError(`The request asks for ${clip.start} to ${clip.end}: --from and --to must lie within it.`);
  }
  const archive = new Archive(config.archive, { ffmpeg: config.ffmpeg, ffprobe: config.ffprobe });
  const holding = new Holding(config.dataDir);
  await ensurePrivateDir(holding.heldDir);
  await ensurePrivateDir(holding.workDir);
  if (await holding.read(clip.id)) throw new Error(`Clip ${clip.id} is already held at this site: the agent reports it when it runs.`);
  try {
    await api.request("POST", `/api/agent/clips/${clip.id}/exporting`);
  } catch (err) {
    if (err instanceof ApiFailure) throw new Error(`The request was closed meanwhile (${err.code}): ${err.message}`);
    throw err;
  }
  const work_ = holding.workPath(clip.id);
  const footage = await archive.cut(camera.archiveId, from, to, work_);
  if (!footage) {
    await remove(work_);
    const reason = `The archive has no footage of camera "${clip.camera.name}" between ${new Date(from).toISOString()} and ${new Date(to).toISOString()}.`;
    await api.request("POST", `/api/agent/clips/${clip.id}/unavailable`, { reason });
    throw new Error(`${reason} The request was told.`);
  }
  const hasher = await createSha512Wasm();
  const held = await holding.seal(
    work_,
    keys.encryption.publicJwk,
    { clipId: clip.id, requestId: request.id, ...footage, camera: clip.camera, requestedStart: clip.start, requestedEnd: clip.end, exportedAt: new Date().toISOString() },
    () => hasher,
  );
  try {
    await api.request("POST", `/api/agent/clips/${clip.id}/held`, { byteSize: held.byteSize, footageStart: held.footageStart, footageEnd: held.footageEnd, durationMs: held.durationMs });
  } catch (err) {
    if (err instanceof ApiFailure && err.status === 409) {
      await holding.delete(clip.id);
      throw new Error(`The request was closed meanwhile: the held copy was deleted. (${err.message})`);
    }
    throw err;
  }
  log(`clip of "${camera.name}" for request ${request.id} held (${held.byteSize} bytes), encrypted to the site's key; it goes into the case when the owner approves it`);
  return { requestId: request.id, clipId: clip.id, byteSize: held.byteSize, sha512: held.sha512, footageStart: held.footageStart, footageEnd: held.footageEnd };
}

/** Cuts, holds (encrypted to the site's key) and sends one clip or still through a submission link. */
export async function send(config: AgentConfig, options: SendOptions & { link: string }, log: (line: string) => void): Promise<SendReceipt> {
  const camera = config.cameras.find((c) => c.archiveId === options.camera);
  if (!camera) {
    throw new Error(`No camera "${options.camera}" in the configuration file. Its cameras: ${config.cameras.map((c) => c.archiveId).join(", ") || "none"}.`);
  }
  const target = parseLink(options.link);
  // The link first: a closed link is said before any footage is cut.
  const open = await readAnswer<PublicSubmissionLink>(await fetch(`${target.origin}/api/submit/${target.linkId}`, { headers: { Accept: "application/json", "User-Agent": "custody-agent/1" } })).catch((err: unknown) => {
    if (err instanceof ApiFailure) throw new Error(`The submission link cannot take files: ${err.message}`);
    throw new Error(`Cannot reach ${target.origin}: ${err instanceof Error ? err.message : String(err)}`);
  });
  if (!(await submissionKeyMatches(open.submissionKey as JWK, target.kid))) {
    throw new Error("The server's key for this link does not match the link: nothing was sent. Ask whoever sent the link for a new one.");
  }

  const keys = await loadOrEnrol(config, log);
  const site = await new AgentApi(config.server, keys).request<AgentSite>("GET", "/api/agent/site");
  const archive = new Archive(config.archive, { ffmpeg: config.ffmpeg, ffprobe: config.ffprobe });
  const holding = new Holding(config.dataDir);
  // Not holding.init(): a running agent shares the folders, and init clears its work in progress.
  await ensurePrivateDir(holding.heldDir);
  await ensurePrivateDir(holding.workDir);

  const id = newId();
  const still = options.at !== undefined;
  const mediaType = still ? "image/jpeg" : "video/mp4";
  const plainPath = still ? join(holding.workDir, `${id}.jpg`) : holding.workPath(id);
  const requestedStart = new Date(still ? options.at! : options.from!).toISOString();
  const requestedEnd = new Date(still ? options.at! : options.to!).toISOString();
  let footage: { footageStart: string; footageEnd: string; durationMs: number } | null;
  if (still) {
    footage = (await cutStill(archive, config, camera.archiveId, options.at!, plainPath)) ? { footageStart: requestedStart, footageEnd: requestedStart, durationMs: 0 } : null;
  } else {
    footage = await archive.cut(camera.archiveId, options.from!, options.to!, plainPath);
  }
  if (!footage) {
    await remove(plainPath);
    throw new Error(`The archive has no footage of camera "${camera.name}" ${still ? `at ${requestedStart}` : `between ${requestedStart} and ${requestedEnd}`}: nothing was sent.`);
  }
  const hasher = await createSha512Wasm();
  const held: HeldClip = await holding.seal(
    plainPath,
    keys.encryption.publicJwk,
    {
      clipId: id,
      requestId: "",
      ...footage,
      camera: { id: "", archiveId: camera.archiveId, name: camera.name, latitude: camera.latitude, longitude: camera.longitude, direction: camera.direction, recorderId: camera.recorderId },
      requestedStart,
      requestedEnd,
      exportedAt: new Date().toISOString(),
    },
    () => hasher,
  );
  const fileName = `${camera.name.replace(/[^\p{L}\p{N} ._-]+/gu, "_").trim() || camera.archiveId} ${stamp(held.footageStart)}.${still ? "jpg" : "mp4"}`;
  log(`${still ? "still" : "clip"} of "${camera.name}" held (${held.byteSize} bytes), encrypted to the site's key; sending ${fileName}`);

  // The submission: the agent's own signing key signs it; the file key goes to the link's key.
  const submissionKey = open.submissionKey as JWK;
  const base = `${target.origin}/api/submit/${target.linkId}`;
  const post = async <T>(path: string, body: unknown, token?: string) =>
    readAnswer<T>(
      await fetch(`${base}${path}`, {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json", "User-Agent": "custody-agent/1", ...(token ? { Authorization: `Bearer ${token}` } : {}) },
        body: JSON.stringify(body),
      }),
    );
  const submissionId = newId();
  const fileId = newId();
  const fileKey = await unwrapFileKey(held.fileKey, keys.encryption.privateKey);
  const metadata = await encryptMetadata(
    {
      fileName,
      mediaType,
      capturedAt: held.footageStart,
      camera: {
        siteId: site.id,
        siteName: site.name,
        archiveId: camera.archiveId,
        name: camera.name,
        latitude: camera.latitude,
        longitude: camera.longitude,
        direction: camera.direction,
        recorderId: camera.recorderId,
        initiative: "site",
        still,
        requestedStart,
        requestedEnd,
        footageStart: held.footageStart,
        footageEnd: held.footageEnd,
        durationMs: held.durationMs,
        exportedAt: held.exportedAt,
      },
    },
    fileKey,
  );
  const manifest = await signManifest(
    {
      evidenceId: fileId,
      caseId: target.linkId,
      uploaderId: submissionId,
      metadata,
      stream: { byteSize: held.byteSize, sha512: held.sha512, noncePrefix: fromBase64url(held.noncePrefix), partSha512: held.partSha512 },
    },
    keys.signing,
  );
  try {
    const { token } = await post<StartedSubmission>("/submissions", { submissionId, signerKey: keys.signing.publicJwk });
    const sub = `/submissions/${submissionId}`;
    await post<SubmissionFileState>(`${sub}/files`, {
      fileId,
      byteSize: held.byteSize,
      fileKey: await rewrapFileKey(held.fileKey, keys.encryption.privateKey, submissionKey),
      label: await encryptLabel({ fileName, mediaType, capturedAt: held.footageStart }, submissionKey),
    }, token);
    for (let n = 0; n < partCount(held.byteSize); n++) {
      const response = await fetch(`${base}${sub}/files/${fileId}/parts/${n}`, {
        method: "PUT",
        headers: { "Content-Type": "application/octet-stream", Authorization: `Bearer ${token}`, "User-Agent": "custody-agent/1" },
        body: (await holding.readPart(held, n)) as Uint8Array<ArrayBuffer>,
      });
      await readAnswer(response);
    }
    await post<SubmissionFileState>(`${sub}/files/${fileId}/complete`, { manifest }, token);
    const sent = await post<SentSubmission>(`${sub}/finish`, {}, token);
    await holding.delete(id);
    log(`sent through the link: ${fileName}, ${held.byteSize} bytes; held copy deleted`);
    return { fileId, fileName, byteSize: held.byteSize, sha512: sent.files.find((f) => f.id === fileId)?.sha512 ?? held.sha512, sentAt: sent.sentAt };
  } catch (err) {
    if (err instanceof ApiFailure) {
      throw new Error(`The link refused it (${err.code}): ${err.message} The encrypted copy stays held at ${join(holding.heldDir, id)}.`);
    }
    throw err;
  }
}
