/**
 * The capture time a file carries in its own metadata (docs/evidence-format.md §5): a JPEG's EXIF
 * DateTimeOriginal (with OffsetTimeOriginal when present), or an MP4/MOV movie header's
 * creation_time. Reads only the bytes it needs (`Blob.slice`), never the image data or `mdat`,
 * and never throws: a file it cannot read simply has no embedded time.
 */

/** Where a manifest's capture time came from (`device.captureTimeSource`). */
export type CaptureTimeSource = "exif" | "exif-local" | "mp4" | "file-modified" | "device-clock";

export type EmbeddedCaptureTime =
  /** EXIF DateTimeOriginal with its OffsetTimeOriginal: an instant, RFC 3339 with that offset. */
  | { source: "exif"; capturedAt: string }
  /** EXIF DateTimeOriginal without an offset: the camera's local wall-clock time, `YYYY-MM-DDTHH:MM:SS`, zone unknown. */
  | { source: "exif-local"; localTime: string }
  /** MP4/MOV `moov/mvhd` creation_time: an instant, RFC 3339 UTC. */
  | { source: "mp4"; capturedAt: string };

/** The embedded capture time of `blob`, or null when it has none this parser can read. */
export async function readCaptureTime(blob: Blob): Promise<EmbeddedCaptureTime | null> {
  try {
    const head = await bytes(blob, 0, 12);
    if (head.length >= 3 && head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff) return await jpegTime(blob);
    if (head.length >= 8 && isBoxType(head.subarray(4, 8))) return await mp4Time(blob);
    return null;
  } catch {
    return null;
  }
}

/** The manifest fields for a file's capture time: the embedded one, else the file's modification time, else now. */
export async function captureTimeFields(
  file: Blob & { lastModified?: number },
  now: () => Date = () => new Date(),
): Promise<{ capturedAt?: string; device: { captureTimeSource: CaptureTimeSource; capturedAtLocal?: string } }> {
  const embedded = await readCaptureTime(file);
  if (embedded?.source === "exif-local") return { device: { captureTimeSource: "exif-local", capturedAtLocal: embedded.localTime } };
  if (embedded) return { capturedAt: embedded.capturedAt, device: { captureTimeSource: embedded.source } };
  if (file.lastModified) return { capturedAt: new Date(file.lastModified).toISOString(), device: { captureTimeSource: "file-modified" } };
  return { capturedAt: now().toISOString(), device: { captureTimeSource: "device-clock" } };
}

async function bytes(blob: Blob, start: number, length: number): Promise<Uint8Array> {
  if (start >= blob.size || length <= 0) return new Uint8Array(0);
  return new Uint8Array(await blob.slice(start, Math.min(blob.size, start + length)).arrayBuffer());
}

// ---- JPEG / EXIF ----

const EXIF_HEADER = [0x45, 0x78, 0x69, 0x66, 0, 0]; // "Exif\0\0"

/** Walks the JPEG's marker segments up to the start of scan, looking for the APP1 Exif segment. */
async function jpegTime(blob: Blob): Promise<EmbeddedCaptureTime | null> {
  let at = 2;
  for (let guard = 0; guard < 256 && at + 4 <= blob.size; guard++) {
    const marker = await bytes(blob, at, 4);
    if (marker.length < 4 || marker[0] !== 0xff) return null;
    const type = marker[1]!;
    if (type === 0xff) { at += 1; continue; } // fill byte
    if (type === 0xda || type === 0xd9) return null; // start of scan, end of image: no EXIF before the image data
    if (type === 0x01 || (type >= 0xd0 && type <= 0xd7)) { at += 2; continue; } // markers without a length
    const length = (marker[2]! << 8) | marker[3]!;
    if (length < 2) return null;
    if (type === 0xe1) {
      const segment = await bytes(blob, at + 4, length - 2);
      if (segment.length === length - 2 && EXIF_HEADER.every((b, i) => segment[i] === b)) {
        const found = exifTime(segment.subarray(6));
        if (found) return found;
      }
    }
    at += 2 + length;
  }
  return null;
}

/** DateTimeOriginal (0x9003) and OffsetTimeOriginal (0x9011) from a TIFF structure (either byte order). */
function exifTime(tiff: Uint8Array): EmbeddedCaptureTime | null {
  if (tiff.length < 8) return null;
  const view = new DataView(tiff.buffer, tiff.byteOffset, tiff.byteLength);
  const little = tiff[0] === 0x49 && tiff[1] === 0x49; // "II"
  if (!little && !(tiff[0] === 0x4d && tiff[1] === 0x4d)) return null; // "MM"
  if (view.getUint16(2, little) !== 42) return null;
  const ifd0 = entries(view, view.getUint32(4, little), little);
  const exifPointer = ifd0?.get(0x8769);
  if (!exifPointer || exifPointer.count !== 1 || (exifPointer.type !== 4 && exifPointer.type !== 13)) return null;
  const exif = entries(view, view.getUint32(exifPointer.valueAt, little), little);
  if (!exif) return null;
  const original = ascii(view, exif.get(0x9003), little);
  const m = original?.match(/^(\d{4}):(\d{2}):(\d{2}) (\d{2}):(\d{2}):(\d{2})$/);
  if (!m) return null;
  const [, year, month, day, hour, minute, second] = m.map(Number) as number[];
  if (!validDate(year!, month!, day!, hour!, minute!, second!)) return null;
  const local = `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}`;
  const offset = ascii(view, exif.get(0x9011), little)?.match(/^([+-])(\d{2}):(\d{2})$/);
  if (offset && Number(offset[2]) <= 14 && Number(offset[3]) < 60) {
    return { source: "exif", capturedAt: `${local}${offset[0] === "+00:00" || offset[0] === "-00:00" ? "Z" : offset[0]}` };
  }
  return { source: "exif-local", localTime: local };
}

type Entry = { type: number; count: number; valueAt: number };

/** The entries of the IFD at `offset`, by tag; null if it does not fit. */
function entries(view: DataView, offset: number, little: boolean): Map<number, Entry> | null {
  if (offset < 8 || offset + 2 > view.byteLength) return null;
  const n = view.getUint16(offset, little);
  if (offset + 2 + n * 12 > view.byteLength) return null;
  const out = new Map<number, Entry>();
  for (let i = 0; i < n; i++) {
    const at = offset + 2 + i * 12;
    out.set(view.getUint16(at, little), { type: view.getUint16(at + 2, little), count: view.getUint32(at + 4, little), valueAt: at + 8 });
  }
  return out;
}

/** An ASCII (type 2) entry's text, without its NUL terminator and trailing padding. */
function ascii(view: DataView, entry: Entry | undefined, little: boolean): string | undefined {
  if (!entry || entry.type !== 2 || entry.count === 0 || entry.count > 64) return undefined;
  const start = entry.count <= 4 ? entry.valueAt : view.getUint32(entry.valueAt, little);
  if (start + entry.count > view.byteLength) return undefined;
  let text = "";
  for (let i = 0; i < entry.count; i++) {
    const c = view.getUint8(start + i);
    if (c === 0) break;
    text += String.fromCharCode(c);
  }
  return text.trim();
}

function validDate(year: number, month: number, day: number, hour: number, minute: number, second: number): boolean {
  if (year < 1900 || month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 60) return false;
  return day <= new Date(Date.UTC(year, month, 0)).getUTCDate();
}

// ---- MP4 / MOV ----

/** Seconds from 1904-01-01T00:00:00Z (the QuickTime epoch) to 1970-01-01T00:00:00Z. */
const MAC_EPOCH_OFFSET = 2_082_844_800;

function isBoxType(type: Uint8Array): boolean {
  return type.every((c) => c >= 0x20 && c <= 0x7e);
}

/** Walks top-level boxes by their sizes (never reading `mdat`) to `moov`, then its children to `mvhd`. */
async function mp4Time(blob: Blob): Promise<EmbeddedCaptureTime | null> {
  const moov = await findBox(blob, 0, blob.size, "moov");
  if (!moov) return null;
  const mvhd = await findBox(blob, moov.content, moov.end, "mvhd");
  if (!mvhd) return null;
  const body = await bytes(blob, mvhd.content, 12);
  if (body.length < 12) return null;
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const version = body[0];
  let seconds: number;
  if (version === 0) seconds = view.getUint32(4);
  else if (version === 1) seconds = Number(view.getBigUint64(4));
  else return null;
  if (seconds === 0) return null; // 0: unknown
  const ms = (seconds - MAC_EPOCH_OFFSET) * 1000;
  if (!Number.isSafeInteger(ms) || ms < Date.UTC(1900, 0, 1) || ms > Date.UTC(9999, 11, 31)) return null;
  return { source: "mp4", capturedAt: new Date(ms).toISOString().replace(".000Z", "Z") };
}

/** The first box of `type` among the boxes laid end to end in [start, end): where its content begins and where it ends. */
async function findBox(blob: Blob, start: number, end: number, type: string): Promise<{ content: number; end: number } | null> {
  let at = start;
  for (let guard = 0; guard < 10_000 && at + 8 <= end; guard++) {
    const header = await bytes(blob, at, 16);
    if (header.length < 8) return null;
    const view = new DataView(header.buffer, header.byteOffset, header.byteLength);
    const name = header.subarray(4, 8);
    if (!isBoxType(name)) return null;
    let size = view.getUint32(0);
    let headerSize = 8;
    if (size === 1) {
      if (header.length < 16) return null;
      size = Number(view.getBigUint64(8)); // 64-bit largesize
      headerSize = 16;
    } else if (size === 0) {
      size = end - at; // to the end of the enclosing space
    }
    if (!Number.isSafeInteger(size) || size < headerSize || at + size > end) return null;
    if (String.fromCharCode(...name) === type) return { content: at + headerSize, end: at + size };
    at += size;
  }
  return null;
}
