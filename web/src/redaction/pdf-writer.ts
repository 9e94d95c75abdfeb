/**
 * A small PDF writer for redacted documents (docs/redaction.md): every page is one JPEG image
 * (DCTDecode, stored as the encoder made it) drawn over the whole page, and nothing else: no text,
 * no fonts, no annotations, no metadata of the original. The output is PDF 1.4 with a classic
 * cross-reference table whose offsets are exact, so any reader opens it without repairing it.
 *
 * Pure and synchronous on byte arrays (no DOM): the document editor feeds it one page at a time,
 * and the unit tests run it in Node.
 */

/** What a JPEG's frame header says: its size in pixels and how many colour components it has. */
export interface JpegInfo {
  width: number;
  height: number;
  components: 1 | 3;
}

/**
 * Reads the size and components of a baseline or progressive JPEG from its first SOF marker.
 * Throws when the bytes are not a JPEG, or a CMYK one (the browser's encoder never makes those).
 */
export function jpegInfo(bytes: Uint8Array): JpegInfo {
  if (bytes.length < 4 || bytes[0] !== 0xff || bytes[1] !== 0xd8) throw new Error("not a JPEG image (no SOI marker)");
  let at = 2;
  while (at + 4 <= bytes.length) {
    if (bytes[at] !== 0xff) throw new Error(`not a JPEG image (no marker at byte ${at})`);
    const marker = bytes[at + 1]!;
    // Fill bytes, and markers without a length (RSTn, TEM).
    if (marker === 0xff) {
      at += 1;
      continue;
    }
    if ((marker >= 0xd0 && marker <= 0xd7) || marker === 0x01) {
      at += 2;
      continue;
    }
    const length = (bytes[at + 2]! << 8) | bytes[at + 3]!;
    // SOF0–SOF15, except DHT (C4), JPG (C8) and DAC (CC).
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      if (at + 10 > bytes.length) break;
      const height = (bytes[at + 5]! << 8) | bytes[at + 6]!;
      const width = (bytes[at + 7]! << 8) | bytes[at + 8]!;
      const components = bytes[at + 9]!;
      if (components !== 1 && components !== 3) throw new Error(`a JPEG with ${components} colour components can't be written (1 or 3 only)`);
      if (width === 0 || height === 0) throw new Error("a JPEG without a size can't be written");
      return { width, height, components };
    }
    if (marker === 0xda || marker === 0xd9) break;
    at += 2 + length;
  }
  throw new Error("not a complete JPEG image (no frame header)");
}

const encoder = new TextEncoder();

/** A number as PDF writes it: at most three decimals, no exponent. */
function num(value: number): string {
  if (!Number.isFinite(value) || value <= 0) throw new Error(`a page size must be a positive number (got ${value})`);
  return String(Math.round(value * 1000) / 1000);
}

/**
 * Builds a PDF of image pages. `addPage` for each page in order, then `finish` for the file's
 * bytes, as chunks (a page's JPEG is kept as it came, never copied into one large buffer).
 */
export class ImagePdfWriter {
  private readonly chunks: Uint8Array[] = [];
  private length = 0;
  /** Byte offset of each object, by object number (0 is the free list head). */
  private readonly offsets: number[] = [0];
  private readonly pageRefs: number[] = [];
  private finished = false;

  constructor() {
    // The header, then a comment of four bytes above 127 so transfer tools treat the file as binary.
    this.write("%PDF-1.4\n");
    this.write(new Uint8Array([0x25, 0xe2, 0xe3, 0xcf, 0xd3, 0x0a]));
    // Object 1 is the catalog and 2 the page tree, written last when every page is known.
    this.object(1, "<< /Type /Catalog /Pages 2 0 R >>");
    this.offsets[2] = -1;
  }

  /** The number of pages added so far. */
  get pageCount(): number {
    return this.pageRefs.length;
  }

  /**
   * Adds a page of `widthPt` × `heightPt` points (1/72 inch) showing `jpeg` stretched over all of it.
   * The JPEG's own size (pixels) and colour components come from its frame header.
   */
  addPage(jpeg: Uint8Array, widthPt: number, heightPt: number): void {
    if (this.finished) throw new Error("the PDF is already finished");
    const info = jpegInfo(jpeg);
    const w = num(widthPt);
    const h = num(heightPt);
    const page = this.offsets.length;
    const content = page + 1;
    const image = page + 2;
    this.object(page, `<< /Type /Page /Parent 2 0 R /MediaBox [0 0 ${w} ${h}] /Resources << /XObject << /Im0 ${image} 0 R >> >> /Contents ${content} 0 R >>`);
    // The image fills the page: scaled from the unit square to the page's size.
    this.stream(content, "", encoder.encode(`q\n${w} 0 0 ${h} 0 0 cm\n/Im0 Do\nQ\n`));
    const space = info.components === 1 ? "/DeviceGray" : "/DeviceRGB";
    this.stream(image, `/Type /XObject /Subtype /Image /Width ${info.width} /Height ${info.height} /ColorSpace ${space} /BitsPerComponent 8 /Filter /DCTDecode `, jpeg);
    this.pageRefs.push(page);
  }

  /** Writes the page tree, the cross-reference table and the trailer; returns the whole file. */
  finish(): Uint8Array[] {
    if (this.finished) throw new Error("the PDF is already finished");
    if (this.pageRefs.length === 0) throw new Error("a PDF needs at least one page");
    this.finished = true;
    this.object(2, `<< /Type /Pages /Kids [${this.pageRefs.map((n) => `${n} 0 R`).join(" ")}] /Count ${this.pageRefs.length} >>`);
    const xref = this.length;
    const size = this.offsets.length;
    // Each entry is exactly 20 bytes: 10-digit offset, space, 5-digit generation, space, type, CR LF.
    let table = `xref\n0 ${size}\n0000000000 65535 f\r\n`;
    for (let n = 1; n < size; n++) table += `${String(this.offsets[n]).padStart(10, "0")} 00000 n\r\n`;
    this.write(table);
    this.write(`trailer\n<< /Size ${size} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`);
    return this.chunks;
  }

  private write(data: string | Uint8Array): void {
    const bytes = typeof data === "string" ? encoder.encode(data) : data;
    this.chunks.push(bytes);
    this.length += bytes.length;
  }

  private object(n: number, body: string): void {
    this.offsets[n] = this.length;
    this.write(`${n} 0 obj\n${body}\nendobj\n`);
  }

  private stream(n: number, dictionary: string, data: Uint8Array): void {
    this.offsets[n] = this.length;
    this.write(`${n} 0 obj\n<< ${dictionary}/Length ${data.length} >>\nstream\n`);
    this.write(data);
    this.write("\nendstream\nendobj\n");
  }
}
