/**
 * The PDF writer of redacted documents (web/src/redaction/pdf-writer.ts): real JPEGs from ffmpeg (the browser's encoder makes the same baseline YCbCr kind),
 * a file whose cross-reference table points at every object exactly, that pdf.js opens without
 * repairing it, with one image per page at the asked size and no text at all.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ImagePdfWriter, jpegInfo } from "../../web/src/redaction/pdf-writer";

let work: string;
let colour: Uint8Array;
let small: Uint8Array;

function jpeg(name: string, size: string): Uint8Array {
  const path = join(work, name);
  const made = spawnSync("ffmpeg", ["-v", "error", "-y", "-f", "lavfi", "-i", `testsrc=size=${size}`, "-frames:v", "1", path], { encoding: "utf8" });
  if (made.status !== 0) throw new Error(`ffmpeg failed (install Debian's ffmpeg): ${made.stderr}`);
  return new Uint8Array(readFileSync(path));
}

function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) out.set(c, (at += c.length) - c.length);
  return out;
}

const latin1 = (bytes: Uint8Array) => Buffer.from(bytes).toString("latin1");

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), "custody-pdf-writer-"));
  colour = jpeg("colour.jpg", "64x48");
  small = jpeg("small.jpg", "32x40");
});

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe("redacted document PDF writer", () => {
  it("reads a JPEG's size and colour components from its frame header, and refuses what is not a JPEG", () => {
    expect(jpegInfo(colour)).toEqual({ width: 64, height: 48, components: 3 });
    expect(jpegInfo(small)).toEqual({ width: 32, height: 40, components: 3 });
    // The component count as its frame header gives it: one (grey) is written as DeviceGray, four (CMYK) refused.
    const sof = (bytes: Uint8Array) => bytes.findIndex((b, i) => b === 0xff && bytes[i + 1]! >= 0xc0 && bytes[i + 1]! <= 0xc2);
    const withComponents = (n: number) => {
      const copy = colour.slice();
      copy[sof(copy) + 9] = n;
      return copy;
    };
    expect(jpegInfo(withComponents(1)).components).toBe(1);
    expect(() => jpegInfo(withComponents(4))).toThrow(/4 colour components/);
    expect(() => jpegInfo(new TextEncoder().encode("%PDF-1.4"))).toThrow(/not a JPEG/);
    expect(() => jpegInfo(colour.subarray(0, 20))).toThrow(/not a complete JPEG/);
  });

  it("writes a PDF whose cross-reference table gives each object's exact offset, and pdf.js opens it with one image per page and no text", async () => {
    const writer = new ImagePdfWriter();
    writer.addPage(colour, 595.28, 841.89);
    writer.addPage(small, 300, 200);
    const bytes = concat(writer.finish());
    const text = latin1(bytes);
    expect(text.startsWith("%PDF-1.4\n")).toBe(true);
    expect(text.endsWith("%%EOF\n")).toBe(true);

    // startxref names where "xref" starts; each in-use entry points at "<n> 0 obj".
    const startxref = Number(/startxref\n(\d+)\n%%EOF\n$/.exec(text)![1]);
    expect(text.slice(startxref, startxref + 5)).toBe("xref\n");
    const [, first, count] = /^xref\n(\d+) (\d+)\n/.exec(text.slice(startxref))!;
    expect(Number(first)).toBe(0);
    const size = Number(count);
    expect(size).toBe(1 + 2 + 3 * 2); // free head, catalog, page tree, and page + content + image for each page
    const table = text.slice(startxref + `xref\n0 ${size}\n`.length);
    for (let n = 0; n < size; n++) {
      const entry = table.slice(n * 20, n * 20 + 20);
      expect(entry).toMatch(/^\d{10} \d{5} [nf]\r\n$/);
      if (n === 0) continue;
      const offset = Number(entry.slice(0, 10));
      expect(text.slice(offset, offset + `${n} 0 obj\n`.length)).toBe(`${n} 0 obj\n`);
    }
    expect(text).toContain(`trailer\n<< /Size ${size} /Root 1 0 R >>`);
    // Each image stream holds the JPEG exactly as given.
    expect(text).toContain(latin1(colour));
    expect(text).toContain(latin1(small));
    expect(text).toContain("/Width 32 /Height 40 /ColorSpace /DeviceRGB /BitsPerComponent 8 /Filter /DCTDecode");

    const pdfjs = await import("pdfjs-dist/legacy/build/pdf.mjs");
    const loading = pdfjs.getDocument({ data: bytes.slice(), stopAtErrors: true, verbosity: 0 });
    const pdf = await loading.promise;
    try {
      expect(pdf.numPages).toBe(2);
      const sizes: number[][] = [];
      for (let n = 1; n <= 2; n++) {
        const page = await pdf.getPage(n);
        const viewport = page.getViewport({ scale: 1 });
        sizes.push([Math.round(viewport.width * 100) / 100, Math.round(viewport.height * 100) / 100]);
        const ops = await page.getOperatorList();
        expect(ops.fnArray.filter((fn) => fn === pdfjs.OPS.paintImageXObject)).toHaveLength(1);
        expect((await page.getTextContent()).items).toEqual([]);
      }
      expect(sizes).toEqual([
        [595.28, 841.89],
        [300, 200],
      ]);
    } finally {
      await loading.destroy();
    }
  });

  it("needs at least one page, and ends once", () => {
    expect(() => new ImagePdfWriter().finish()).toThrow(/at least one page/);
    const writer = new ImagePdfWriter();
    writer.addPage(colour, 100, 100);
    writer.finish();
    expect(() => writer.addPage(colour, 100, 100)).toThrow(/already finished/);
    expect(() => new ImagePdfWriter().addPage(colour, 0, 100)).toThrow(/positive/);
  });
});
