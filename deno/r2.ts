/**
 * R2 on a local folder: the part of the `R2Bucket` binding the worker uses (put, get with
 * ranges, head, delete, list, multipart uploads), crash-safe.
 *
 * Layout under the bucket's folder:
 * - `blobs/<id>`: immutable files of bytes, each written atomically (temporary name, fsync,
 *   rename);
 * - `index.sqlite`: which blobs make up which object, in order, and which blobs are the parts
 *   of which multipart upload.
 * A write becomes visible in one SQLite transaction, after its bytes are on disk; so a crash
 * at any moment leaves every object either whole at its old version or whole at its new one,
 * and an upload with exactly the parts whose upload returned. Completing a multipart upload
 * moves its parts into the object in that one transaction: no bytes are copied. Blob files a
 * crash left unreferenced are removed at the next start.
 */
import { createHash, randomUUID } from "node:crypto";
import { readdirSync, rmSync } from "node:fs";
import { open, rm, type FileHandle } from "node:fs/promises";
import { join } from "node:path";
import type { DatabaseSync } from "node:sqlite";
import { openSqlite } from "./d1";
import { ensureDir, syncDir, writeAtomically, type Body } from "./files";

const MIN_PART_SIZE = 5 * 1024 * 1024;
const READ_CHUNK = 1024 * 1024;
const CHECKSUMS = ["md5", "sha1", "sha256", "sha384", "sha512"] as const;
type ChecksumName = (typeof CHECKSUMS)[number];

interface BlobRef {
  id: string;
  size: number;
}

interface ObjectRow {
  key: string;
  version: string;
  size: number;
  etag: string;
  uploaded: string;
  http_metadata: string;
  custom_metadata: string;
  checksums: string;
  blobs: string;
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function fromHex(text: string): ArrayBuffer {
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(text.slice(i * 2, i * 2 + 2), 16);
  return out.buffer;
}

function expectedChecksum(value: ArrayBuffer | ArrayBufferView | string): string {
  if (typeof value === "string") return value.toLowerCase();
  return hex(value instanceof ArrayBuffer ? new Uint8Array(value) : new Uint8Array(value.buffer, value.byteOffset, value.byteLength));
}

function httpMetadataOf(value: R2HTTPMetadata | Headers | undefined): R2HTTPMetadata {
  if (!value) return {};
  if (!(value instanceof Headers)) return { ...value };
  const out: R2HTTPMetadata = {};
  const map: [keyof R2HTTPMetadata, string][] = [
    ["contentType", "Content-Type"],
    ["contentLanguage", "Content-Language"],
    ["contentDisposition", "Content-Disposition"],
    ["contentEncoding", "Content-Encoding"],
    ["cacheControl", "Cache-Control"],
  ];
  for (const [field, header] of map) {
    const v = value.get(header);
    if (v !== null) (out as Record<string, string>)[field] = v;
  }
  const expires = value.get("Expires");
  if (expires) out.cacheExpiry = new Date(expires);
  return out;
}

function unsupported(options: object | undefined, names: string[]): void {
  for (const name of names) {
    if (options && (options as Record<string, unknown>)[name] !== undefined) throw new Error(`R2 on Deno: the "${name}" option is not supported`);
  }
}

/** The byte range `range` asks of an object of `size` bytes. */
function resolveRange(range: R2Range | Headers | undefined, size: number): { offset: number; length: number } | null {
  if (!range) return null;
  let r: R2Range;
  if (range instanceof Headers) {
    const header = range.get("Range");
    if (!header) return null;
    const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
    if (!match) throw new Error(`R2: unsupported Range header ${header}`);
    const [, start, end] = match;
    if (start === "") r = { suffix: Number(end) };
    else r = end === "" ? { offset: Number(start) } : { offset: Number(start), length: Number(end) - Number(start) + 1 };
  } else r = range;
  if ("suffix" in r && r.suffix !== undefined) {
    const length = Math.min(r.suffix, size);
    return { offset: size - length, length };
  }
  const offset = (r as { offset?: number }).offset ?? 0;
  const length = (r as { length?: number }).length ?? size - offset;
  if (offset < 0 || length < 0 || offset > size || !Number.isSafeInteger(offset) || !Number.isSafeInteger(length)) {
    throw new Error(`R2: the range ${JSON.stringify(r)} is outside the object (${size} bytes)`);
  }
  return { offset, length: Math.min(length, size - offset) };
}

class LocalR2Object {
  readonly key: string;
  readonly version: string;
  readonly size: number;
  readonly etag: string;
  readonly httpEtag: string;
  readonly uploaded: Date;
  readonly httpMetadata: R2HTTPMetadata;
  readonly customMetadata: Record<string, string>;
  readonly checksums: R2Checksums;
  readonly storageClass = "Standard";
  readonly range?: R2Range;

  constructor(row: ObjectRow, range?: { offset: number; length: number }) {
    this.key = row.key;
    this.version = row.version;
    this.size = row.size;
    this.etag = row.etag;
    this.httpEtag = `"${row.etag}"`;
    this.uploaded = new Date(row.uploaded);
    const http = JSON.parse(row.http_metadata) as R2HTTPMetadata & { cacheExpiry?: string };
    this.httpMetadata = { ...http, ...(http.cacheExpiry ? { cacheExpiry: new Date(http.cacheExpiry) } : {}) } as R2HTTPMetadata;
    this.customMetadata = JSON.parse(row.custom_metadata) as Record<string, string>;
    const sums = JSON.parse(row.checksums) as Partial<Record<ChecksumName, string>>;
    const checksums: Partial<Record<ChecksumName, ArrayBuffer>> = {};
    for (const name of CHECKSUMS) if (sums[name]) checksums[name] = fromHex(sums[name]!);
    this.checksums = { ...checksums, toJSON: () => ({ ...sums }) };
    if (range) this.range = range;
  }

  writeHttpMetadata(headers: Headers): void {
    const m = this.httpMetadata;
    if (m.contentType) headers.set("Content-Type", m.contentType);
    if (m.contentLanguage) headers.set("Content-Language", m.contentLanguage);
    if (m.contentDisposition) headers.set("Content-Disposition", m.contentDisposition);
    if (m.contentEncoding) headers.set("Content-Encoding", m.contentEncoding);
    if (m.cacheControl) headers.set("Cache-Control", m.cacheControl);
    if (m.cacheExpiry) headers.set("Expires", m.cacheExpiry.toUTCString());
  }
}

/** An object with its bytes: the files it needs are opened before it is returned, so a later overwrite cannot cut the read short. */
class LocalR2ObjectBody extends LocalR2Object {
  #stream: ReadableStream<Uint8Array>;
  #used = false;

  constructor(row: ObjectRow, range: { offset: number; length: number } | undefined, pieces: { handle: FileHandle; start: number; length: number }[]) {
    super(row, range);
    let index = 0;
    let position = 0;
    const closeAll = async () => {
      for (const piece of pieces.splice(0)) await piece.handle.close().catch(() => undefined);
    };
    this.#stream = new ReadableStream<Uint8Array>({
      pull: async (controller) => {
        for (;;) {
          const piece = pieces[index];
          if (!piece) {
            await closeAll();
            controller.close();
            return;
          }
          if (position >= piece.length) {
            index++;
            position = 0;
            continue;
          }
          const buffer = new Uint8Array(Math.min(READ_CHUNK, piece.length - position));
          const { bytesRead } = await piece.handle.read(buffer, 0, buffer.length, piece.start + position);
          if (bytesRead === 0) throw new Error(`R2: ${row.key} is shorter on disk than recorded`);
          position += bytesRead;
          controller.enqueue(buffer.subarray(0, bytesRead));
          return;
        }
      },
      cancel: closeAll,
    });
  }

  get body(): ReadableStream<Uint8Array> {
    this.#used = true;
    return this.#stream;
  }

  get bodyUsed(): boolean {
    return this.#used;
  }

  async bytes(): Promise<Uint8Array> {
    return new Uint8Array(await new Response(this.body).arrayBuffer());
  }

  async arrayBuffer(): Promise<ArrayBuffer> {
    return new Response(this.body).arrayBuffer();
  }

  async text(): Promise<string> {
    return new Response(this.body).text();
  }

  async json<T>(): Promise<T> {
    return (await new Response(this.body).json()) as T;
  }

  async blob(): Promise<Blob> {
    return new Response(this.body).blob();
  }
}

export class LocalR2Bucket {
  readonly db: DatabaseSync;
  private readonly blobDir: string;
  private readonly tmpDir: string;

  /** `sweep: false` for a second process looking at a live server's bucket, whose writes in flight must not be swept. */
  constructor(
    readonly dir: string,
    options: { sweep?: boolean } = {},
  ) {
    ensureDir(dir);
    this.blobDir = ensureDir(join(dir, "blobs"));
    this.tmpDir = ensureDir(join(dir, "tmp"));
    this.db = openSqlite(join(dir, "index.sqlite"));
    this.db.exec(`CREATE TABLE IF NOT EXISTS objects (
      key TEXT PRIMARY KEY, version TEXT NOT NULL, size INTEGER NOT NULL, etag TEXT NOT NULL, uploaded TEXT NOT NULL,
      http_metadata TEXT NOT NULL, custom_metadata TEXT NOT NULL, checksums TEXT NOT NULL, blobs TEXT NOT NULL)`);
    this.db.exec(`CREATE TABLE IF NOT EXISTS uploads (
      upload_id TEXT PRIMARY KEY, key TEXT NOT NULL, http_metadata TEXT NOT NULL, custom_metadata TEXT NOT NULL, created TEXT NOT NULL)`);
    this.db.exec(`CREATE TABLE IF NOT EXISTS parts (
      upload_id TEXT NOT NULL REFERENCES uploads (upload_id) ON DELETE CASCADE, part_number INTEGER NOT NULL,
      blob TEXT NOT NULL, size INTEGER NOT NULL, etag TEXT NOT NULL, PRIMARY KEY (upload_id, part_number))`);
    if (options.sweep !== false) this.sweep();
  }

  /** Removes what a crash left behind: temporary files, and blobs no object or upload refers to. */
  private sweep(): void {
    for (const name of readdirSync(this.tmpDir)) rmSync(join(this.tmpDir, name), { force: true });
    const used = new Set<string>();
    for (const row of this.db.prepare("SELECT blobs FROM objects").all() as { blobs: string }[]) {
      for (const blob of JSON.parse(row.blobs) as BlobRef[]) used.add(blob.id);
    }
    for (const row of this.db.prepare("SELECT blob FROM parts").all() as { blob: string }[]) used.add(row.blob);
    for (const name of readdirSync(this.blobDir)) if (!used.has(name)) rmSync(join(this.blobDir, name), { force: true });
  }

  /** Writes `body` as a new blob; returns it with its size and the checksums asked for. */
  private async writeBlob(body: Body, algorithms: readonly ChecksumName[]): Promise<BlobRef & { sums: Partial<Record<ChecksumName, string>> }> {
    const id = randomUUID();
    const hashes = algorithms.map((name) => [name, createHash(name)] as const);
    const size = await writeAtomically(join(this.blobDir, id), body, this.tmpDir, (chunk) => {
      for (const [, hash] of hashes) hash.update(chunk);
    });
    const sums: Partial<Record<ChecksumName, string>> = {};
    for (const [name, hash] of hashes) sums[name] = hash.digest("hex");
    return { id, size, sums };
  }

  private async removeBlobs(ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    for (const id of ids) await rm(join(this.blobDir, id), { force: true });
    await syncDir(this.blobDir);
  }

  /** Runs `change` in one transaction. */
  private transaction<T>(change: () => T): T {
    this.db.exec("BEGIN IMMEDIATE");
    try {
      const out = change();
      this.db.exec("COMMIT");
      return out;
    } catch (err) {
      this.db.exec("ROLLBACK");
      throw err;
    }
  }

  private row(key: string): ObjectRow | undefined {
    return this.db.prepare("SELECT * FROM objects WHERE key = ?").get(key) as ObjectRow | undefined;
  }

  /** Makes `blobs` the object at `key`; returns the new row and the blobs it replaced. */
  private commitObject(key: string, blobs: BlobRef[], fields: { etag: string; http: R2HTTPMetadata; custom: Record<string, string>; sums: Partial<Record<ChecksumName, string>> }, extra?: () => void): { row: ObjectRow; replaced: string[] } {
    return this.transaction(() => {
      const old = this.row(key);
      const row: ObjectRow = {
        key,
        version: randomUUID().replaceAll("-", ""),
        size: blobs.reduce((n, b) => n + b.size, 0),
        etag: fields.etag,
        uploaded: new Date().toISOString(),
        http_metadata: JSON.stringify(fields.http),
        custom_metadata: JSON.stringify(fields.custom),
        checksums: JSON.stringify(fields.sums),
        blobs: JSON.stringify(blobs),
      };
      this.db
        .prepare(`INSERT OR REPLACE INTO objects (key, version, size, etag, uploaded, http_metadata, custom_metadata, checksums, blobs) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`)
        .run(row.key, row.version, row.size, row.etag, row.uploaded, row.http_metadata, row.custom_metadata, row.checksums, row.blobs);
      extra?.();
      const keep = new Set(blobs.map((b) => b.id));
      const replaced = old ? (JSON.parse(old.blobs) as BlobRef[]).map((b) => b.id).filter((id) => !keep.has(id)) : [];
      return { row, replaced };
    });
  }

  async put(key: string, value: Body, options: R2PutOptions = {}): Promise<LocalR2Object> {
    unsupported(options, ["onlyIf", "ssecKey"]);
    const wanted = CHECKSUMS.filter((name) => name === "md5" || options[name] !== undefined);
    const blob = await this.writeBlob(value, wanted);
    for (const name of wanted) {
      const expected = options[name];
      if (expected !== undefined && expectedChecksum(expected) !== blob.sums[name]) {
        await this.removeBlobs([blob.id]);
        throw new Error(`put: The ${name.toUpperCase()} checksum you specified did not match what we received.`);
      }
    }
    const { row, replaced } = this.commitObject(key, blob.size === 0 ? [] : [{ id: blob.id, size: blob.size }], {
      etag: blob.sums.md5!,
      http: httpMetadataOf(options.httpMetadata),
      custom: options.customMetadata ?? {},
      sums: blob.sums,
    });
    await this.removeBlobs(blob.size === 0 ? [blob.id, ...replaced] : replaced);
    return new LocalR2Object(row);
  }

  async head(key: string): Promise<LocalR2Object | null> {
    const row = this.row(key);
    return row ? new LocalR2Object(row) : null;
  }

  async get(key: string, options: R2GetOptions = {}): Promise<LocalR2ObjectBody | null> {
    unsupported(options, ["onlyIf", "ssecKey"]);
    const row = this.row(key);
    if (!row) return null;
    const range = resolveRange(options.range, row.size);
    const start = range?.offset ?? 0;
    const end = range ? range.offset + range.length : row.size;
    const pieces: { handle: FileHandle; start: number; length: number }[] = [];
    let at = 0;
    try {
      for (const blob of JSON.parse(row.blobs) as BlobRef[]) {
        const from = Math.max(start, at);
        const to = Math.min(end, at + blob.size);
        if (from < to) pieces.push({ handle: await open(join(this.blobDir, blob.id), "r"), start: from - at, length: to - from });
        at += blob.size;
      }
    } catch (err) {
      for (const piece of pieces) await piece.handle.close();
      throw err;
    }
    return new LocalR2ObjectBody(row, range ?? undefined, pieces);
  }

  async delete(keys: string | string[]): Promise<void> {
    const list = Array.isArray(keys) ? keys : [keys];
    const gone = this.transaction(() => {
      const ids: string[] = [];
      for (const key of list) {
        const old = this.row(key);
        if (!old) continue;
        ids.push(...(JSON.parse(old.blobs) as BlobRef[]).map((b) => b.id));
        this.db.prepare("DELETE FROM objects WHERE key = ?").run(key);
      }
      return ids;
    });
    await this.removeBlobs(gone);
  }

  async list(options: R2ListOptions = {}): Promise<R2Objects> {
    const limit = Math.min(Math.max(options.limit ?? 1000, 1), 1000);
    const prefix = options.prefix ?? "";
    const after = options.cursor ?? options.startAfter ?? "";
    // Keys in byte order, as R2 lists them; the prefix matched exactly (no LIKE wildcards).
    const rows = this.db
      .prepare("SELECT * FROM objects WHERE substr(key, 1, ?) = ? AND key > ? ORDER BY key COLLATE BINARY")
      .all(BigInt(prefix.length), prefix, after) as unknown as ObjectRow[];
    const objects: R2Object[] = [];
    const delimited = new Set<string>();
    let last = "";
    let truncated = false;
    for (const row of rows) {
      if (objects.length + delimited.size >= limit) {
        truncated = true;
        break;
      }
      last = row.key;
      if (options.delimiter) {
        const cut = row.key.indexOf(options.delimiter, prefix.length);
        if (cut >= 0) {
          delimited.add(row.key.slice(0, cut + options.delimiter.length));
          continue;
        }
      }
      objects.push(new LocalR2Object(row) as unknown as R2Object);
    }
    const page = { objects, delimitedPrefixes: [...delimited] };
    return truncated ? { ...page, truncated: true, cursor: last } : { ...page, truncated: false };
  }

  async createMultipartUpload(key: string, options: R2MultipartOptions = {}): Promise<LocalR2MultipartUpload> {
    unsupported(options, ["ssecKey"]);
    const uploadId = randomUUID();
    this.db
      .prepare("INSERT INTO uploads (upload_id, key, http_metadata, custom_metadata, created) VALUES (?, ?, ?, ?, ?)")
      .run(uploadId, key, JSON.stringify(httpMetadataOf(options.httpMetadata)), JSON.stringify(options.customMetadata ?? {}), new Date().toISOString());
    return new LocalR2MultipartUpload(this, key, uploadId);
  }

  resumeMultipartUpload(key: string, uploadId: string): LocalR2MultipartUpload {
    return new LocalR2MultipartUpload(this, key, uploadId);
  }

  private upload(key: string, uploadId: string): { http_metadata: string; custom_metadata: string } {
    const row = this.db.prepare("SELECT key, http_metadata, custom_metadata FROM uploads WHERE upload_id = ?").get(uploadId) as
      | { key: string; http_metadata: string; custom_metadata: string }
      | undefined;
    if (!row || row.key !== key) throw new Error("uploadPart: The specified multipart upload does not exist. (10024)");
    return row;
  }

  /** @internal */
  async uploadPart(key: string, uploadId: string, partNumber: number, value: Body): Promise<R2UploadedPart> {
    if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > 10000) throw new Error(`uploadPart: part number ${partNumber} is not between 1 and 10000`);
    this.upload(key, uploadId);
    const blob = await this.writeBlob(value, ["md5"]);
    const etag = blob.sums.md5!;
    let replaced: string | undefined;
    try {
      replaced = this.transaction(() => {
        this.upload(key, uploadId); // aborted or completed meanwhile: the part is not kept
        const old = this.db.prepare("SELECT blob FROM parts WHERE upload_id = ? AND part_number = ?").get(uploadId, BigInt(partNumber)) as { blob: string } | undefined;
        this.db
          .prepare("INSERT OR REPLACE INTO parts (upload_id, part_number, blob, size, etag) VALUES (?, ?, ?, ?, ?)")
          .run(uploadId, BigInt(partNumber), blob.id, BigInt(blob.size), etag);
        return old?.blob;
      });
    } catch (err) {
      await this.removeBlobs([blob.id]);
      throw err;
    }
    if (replaced) await this.removeBlobs([replaced]);
    return { partNumber, etag };
  }

  /** @internal */
  async abortUpload(key: string, uploadId: string): Promise<void> {
    const ids = this.transaction(() => {
      const row = this.db.prepare("SELECT key FROM uploads WHERE upload_id = ?").get(uploadId) as { key: string } | undefined;
      if (!row || row.key !== key) return [];
      const parts = (this.db.prepare("SELECT blob FROM parts WHERE upload_id = ?").all(uploadId) as { blob: string }[]).map((p) => p.blob);
      this.db.prepare("DELETE FROM parts WHERE upload_id = ?").run(uploadId);
      this.db.prepare("DELETE FROM uploads WHERE upload_id = ?").run(uploadId);
      return parts;
    });
    await this.removeBlobs(ids);
  }

  /** @internal Joins the parts into the object in one transaction (no bytes copied), with R2's rules on parts. */
  async completeUpload(key: string, uploadId: string, uploaded: R2UploadedPart[]): Promise<LocalR2Object> {
    const upload = this.upload(key, uploadId);
    const stored = new Map(
      (this.db.prepare("SELECT part_number, blob, size, etag FROM parts WHERE upload_id = ?").all(uploadId) as { part_number: number; blob: string; size: number; etag: string }[]).map(
        (p) => [p.part_number, p],
      ),
    );
    const ordered = [...uploaded].sort((a, b) => a.partNumber - b.partNumber);
    const blobs: BlobRef[] = [];
    const etags: string[] = [];
    ordered.forEach((part, i) => {
      const found = stored.get(part.partNumber);
      if (!found || found.etag !== part.etag) throw new Error(`completeMultipartUpload: One or more of the specified parts could not be found. (10025) part ${part.partNumber}`);
      if (i > 0 && ordered[i - 1]!.partNumber === part.partNumber) throw new Error(`completeMultipartUpload: part ${part.partNumber} is listed twice`);
      const last = i === ordered.length - 1;
      if (!last && found.size < MIN_PART_SIZE) throw new Error(`completeMultipartUpload: Your proposed upload is smaller than the minimum allowed object size. (10011) part ${part.partNumber}`);
      if (!last && i > 0 && found.size !== blobs[0]!.size) throw new Error("completeMultipartUpload: All non-trailing parts must have the same length. (10048)");
      blobs.push({ id: found.blob, size: found.size });
      etags.push(found.etag);
    });
    const md5OfMd5s = createHash("md5");
    for (const etag of etags) md5OfMd5s.update(new Uint8Array(fromHex(etag)));
    const used = new Set(blobs.map((b) => b.id));
    const unused = [...stored.values()].map((p) => p.blob).filter((id) => !used.has(id));
    const { row, replaced } = this.commitObject(
      key,
      blobs.filter((b) => b.size > 0),
      { etag: `${md5OfMd5s.digest("hex")}-${blobs.length}`, http: JSON.parse(upload.http_metadata) as R2HTTPMetadata, custom: JSON.parse(upload.custom_metadata) as Record<string, string>, sums: {} },
      () => {
        this.db.prepare("DELETE FROM parts WHERE upload_id = ?").run(uploadId);
        this.db.prepare("DELETE FROM uploads WHERE upload_id = ?").run(uploadId);
      },
    );
    await this.removeBlobs([...replaced, ...unused, ...blobs.filter((b) => b.size === 0).map((b) => b.id)]);
    return new LocalR2Object(row);
  }
}

export class LocalR2MultipartUpload {
  constructor(
    private readonly bucket: LocalR2Bucket,
    readonly key: string,
    readonly uploadId: string,
  ) {}

  uploadPart(partNumber: number, value: Body): Promise<R2UploadedPart> {
    return this.bucket.uploadPart(this.key, this.uploadId, partNumber, value);
  }

  abort(): Promise<void> {
    return this.bucket.abortUpload(this.key, this.uploadId);
  }

  complete(parts: R2UploadedPart[]): Promise<LocalR2Object> {
    return this.bucket.completeUpload(this.key, this.uploadId, parts);
  }
}
