/**
 * The baseline of the upload bench (tests/bench/upload.ts): a plain, unencrypted upload of a
 * picked file to the same server, from the web app's own page (its origin, session cookie and
 * device keys), over the same protocol the app uses (shared/api/cases.ts):
 *   1. one read of the file: SHA-512 of each part (WebCrypto) and of the whole file (hash-wasm);
 *   2. a manifest over those PLAINTEXT parts, signed with the user's signing key from this
 *      device's key store, plus a file key wrapped to the case key, metadata under it and a label
 *      to the case key, as the app sends them: POST /api/cases/:id/evidence;
 *   3. the parts PUT to signed URLs (POST /api/evidence/:id/part-urls, up to 16 at a time),
 *      three in flight whose bodies take turns on the wire (the next starts sending once the one
 *      before has sent its whole body), XMLHttpRequest with an ArrayBuffer body, as the app's
 *      web/src/upload/uploader.ts does;
 *   4. POST /api/evidence/:id/complete.
 * The server checks only the signature and each part's length and SHA-512, so the plaintext is
 * cut at the ciphertext's part size (8 MiB + 128 B) and the manifest declares the byte size
 * whose ciphertext is exactly the file's size (size − 16 B per MiB): the same number of parts
 * of the same lengths as an encrypted upload of (nearly) the same size, and no encryption.
 *
 * Built by upload.ts with Vite as one IIFE and evaluated in the app's page, where it sets
 * `window.benchPlain`.
 */
import { PART_SIZE, SEGMENT_SIZE, TAG_SIZE, encryptLabel, encryptMetadata, generateFileKey, signManifest, toHex, wrapFileKey } from "../../../shared/crypto";
import { createSha512Wasm } from "../../../web/src/upload/sha512-wasm";

export interface PlainResult {
  evidenceId: string;
  fileBytes: number;
  partCount: number;
  /** Wall times in the page: hashing and signing, start request, part PUTs, complete. */
  ms: { hashAndSign: number; start: number; parts: number; complete: number; total: number };
}

const PARALLEL_PARTS = 3; // as web/src/upload/uploader.ts
const URL_BATCH = 16; // as queue.ts: the part asked for and up to 15 more

/** The device's keys (web/src/db.ts, table deviceKeys), read with the plain IndexedDB API. */
async function deviceKeys(): Promise<{ userId: string; signingKid: string; signing: CryptoKey }> {
  const db = await new Promise<IDBDatabase>((resolve, reject) => {
    const open = indexedDB.open("custody");
    open.onsuccess = () => resolve(open.result);
    open.onerror = () => reject(open.error);
  });
  try {
    const rows = await new Promise<{ userId: string; signingKid: string; signing: CryptoKey }[]>((resolve, reject) => {
      const get = db.transaction("deviceKeys").objectStore("deviceKeys").getAll();
      get.onsuccess = () => resolve(get.result as never);
      get.onerror = () => reject(get.error);
    });
    if (rows.length !== 1) throw new Error(`expected one user's keys on this device, found ${rows.length}`);
    return rows[0]!;
  } finally {
    db.close();
  }
}

async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const response = await fetch(path, {
    method,
    headers: { Accept: "application/json", ...(body === undefined ? {} : { "Content-Type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${path}: HTTP ${response.status} ${text.slice(0, 500)}`);
  return (text ? JSON.parse(text) : undefined) as T;
}

/** The wire: one request body being sent at a time, as in the app. */
let wire: Promise<void> = Promise.resolve();

async function put(url: string, body: ArrayBuffer): Promise<void> {
  let sent!: () => void;
  const bodySent = new Promise<void>((resolve) => (sent = resolve));
  const before = wire;
  wire = before.then(() => bodySent);
  await before;
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("PUT", url);
    xhr.setRequestHeader("Content-Type", "application/octet-stream");
    xhr.upload.onload = () => sent();
    xhr.onloadend = () => sent();
    xhr.onload = () => (xhr.status >= 200 && xhr.status < 300 ? resolve() : reject(new Error(`PUT ${url}: HTTP ${xhr.status} ${xhr.responseText.slice(0, 300)}`)));
    xhr.onerror = () => reject(new Error(`PUT ${url}: network error`));
    xhr.send(body);
  });
}

async function upload(file: File, caseId: string): Promise<PlainResult> {
  const t0 = performance.now();
  const size = file.size;
  const segments = Math.ceil(size / SEGMENT_SIZE);
  const byteSize = size - TAG_SIZE * segments; // its ciphertext would be exactly `size` bytes
  if (Math.ceil(byteSize / SEGMENT_SIZE) !== segments) throw new Error("file size not supported by the plain baseline");
  const partCount = Math.ceil(size / PART_SIZE);

  const keys = await deviceKeys();
  const detail = await api<{ caseKey: { kid: string; publicJwk: JsonWebKey } }>("GET", `/api/cases/${caseId}`);
  const whole = await createSha512Wasm();
  const partSha512: string[] = [];
  for (let n = 0; n < partCount; n++) {
    const bytes = new Uint8Array(await file.slice(n * PART_SIZE, Math.min(size, (n + 1) * PART_SIZE)).arrayBuffer());
    partSha512.push(toHex(new Uint8Array(await crypto.subtle.digest("SHA-512", bytes))));
    whole.update(bytes);
  }
  const evidenceId = toHex(crypto.getRandomValues(new Uint8Array(16)));
  const fileKey = await generateFileKey();
  const metadata = await encryptMetadata({ fileName: file.name, mediaType: "application/octet-stream" }, fileKey);
  const manifest = await signManifest(
    { evidenceId, caseId, uploaderId: keys.userId, metadata, stream: { byteSize, sha512: whole.digestHex(), noncePrefix: crypto.getRandomValues(new Uint8Array(7)), partSha512 } },
    { kid: keys.signingKid, privateKey: keys.signing, publicJwk: {} },
  );
  const fileKeyJwe = await wrapFileKey(fileKey, detail.caseKey.publicJwk as never);
  const label = await encryptLabel({ fileName: file.name, mediaType: "application/octet-stream" }, detail.caseKey.publicJwk as never);
  const t1 = performance.now();

  await api("POST", `/api/cases/${caseId}/evidence`, { evidenceId, manifest, fileKey: { caseKid: detail.caseKey.kid, jwe: fileKeyJwe }, label });
  const t2 = performance.now();

  const urls = new Map<number, string>();
  let asking: Promise<void> | undefined;
  async function urlFor(n: number): Promise<string> {
    while (!urls.has(n)) {
      if (asking) {
        await asking;
        continue;
      }
      const batch = Array.from({ length: Math.min(URL_BATCH, partCount - n) }, (_, i) => n + i).filter((m) => !urls.has(m));
      asking = api<{ urls: { part: number; url: string }[] }>("POST", `/api/evidence/${evidenceId}/part-urls`, { parts: batch }).then((answer) => {
        for (const entry of answer.urls) urls.set(entry.part, entry.url);
      });
      try {
        await asking;
      } finally {
        asking = undefined;
      }
    }
    return urls.get(n)!;
  }
  let next = 0;
  const lane = async () => {
    while (next < partCount) {
      const n = next++;
      const url = await urlFor(n);
      await put(url, await file.slice(n * PART_SIZE, Math.min(size, (n + 1) * PART_SIZE)).arrayBuffer());
    }
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL_PARTS, partCount) }, lane));
  const t3 = performance.now();

  await api("POST", `/api/evidence/${evidenceId}/complete`);
  const t4 = performance.now();
  return { evidenceId, fileBytes: size, partCount, ms: { hashAndSign: t1 - t0, start: t2 - t1, parts: t3 - t2, complete: t4 - t3, total: t4 - t0 } };
}

declare global {
  interface Window {
    benchPlain: { install(caseId: string): string; result(): Promise<PlainResult> };
  }
}

let running: Promise<PlainResult> | undefined;

window.benchPlain = {
  /** Adds a hidden file input (outside the app's tree); picking a file there starts the plain upload to `caseId`. Returns its CSS selector. */
  install(caseId: string): string {
    document.getElementById("bench-plain-file")?.remove();
    const input = document.createElement("input");
    input.type = "file";
    input.id = "bench-plain-file";
    input.hidden = true;
    input.addEventListener("change", () => {
      const file = input.files?.[0];
      if (file) running = upload(file, caseId);
    });
    document.body.append(input);
    return "#bench-plain-file";
  },
  result(): Promise<PlainResult> {
    if (!running) return Promise.reject(new Error("no file picked"));
    return running;
  },
};
