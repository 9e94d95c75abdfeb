/**
 * The chain-of-custody report: every audit event of one target (an evidence item, a case, a
 * user) as a PDF built in the browser with pdf-lib and its standard fonts. Loaded with a
 * dynamic import when an administrator asks for a report, so pdf-lib stays out of the main
 * bundle. Every line is wrapped to the page; a row or block that does not fit moves to the
 * next page, so no text is ever cut off.
 */
import { PDFDocument, rgb, StandardFonts, type PDFFont, type PDFPage } from "pdf-lib";
import type { AuditEvent } from "../../../shared/audit/chain";
import { actorText, OUTCOME_LABELS, utcTime } from "./format";

export interface ReportInput {
  organisation: string;
  target: { type: string; id: string };
  generatedBy: { name: string; email: string };
  generatedAt: Date;
  events: readonly AuditEvent[];
}

// A4 in points, 40 pt margins; the footer sits in the bottom margin.
const PAGE: [number, number] = [595.28, 841.89];
const MARGIN = 40;
const FOOTER_Y = 22;
const WIDTH = PAGE[0] - 2 * MARGIN;
const BLACK = rgb(0.09, 0.13, 0.17);
const GREY = rgb(0.35, 0.38, 0.43);
const RULE = rgb(0.75, 0.78, 0.82);
const HEADER_FILL = rgb(0.91, 0.93, 0.96);

interface Fonts {
  regular: PDFFont;
  bold: PDFFont;
  mono: PDFFont;
}

/** The report's file name: `chain-of-custody-<type>-<id first 8>-<YYYY-MM-DD>.pdf`. */
export function reportFileName(target: { type: string; id: string }, at: Date): string {
  const safe = (text: string) => text.toLowerCase().replace(/[^a-z0-9_-]+/g, "-");
  return `chain-of-custody-${safe(target.type)}-${safe(target.id.slice(0, 8))}-${at.toISOString().slice(0, 10)}.pdf`;
}

/**
 * Text the standard (WinAnsi) fonts can draw: tabs become spaces and anything the font has no
 * glyph for (emoji, most non-Latin scripts) becomes "?", so an odd user agent cannot break the report.
 */
function drawable(font: PDFFont, text: string): string {
  const supported = charsets.get(font) ?? new Set(font.getCharacterSet());
  charsets.set(font, supported);
  let out = "";
  for (const char of text.replace(/[\t\r\n]+/g, " ")) out += supported.has(char.codePointAt(0)!) ? char : "?";
  return out;
}
const charsets = new Map<PDFFont, Set<number>>();

/** Splits text into lines no wider than `width`: at spaces where possible, inside a word when it alone is too wide. */
function wrap(text: string, font: PDFFont, size: number, width: number): string[] {
  const fits = (line: string) => font.widthOfTextAtSize(line, size) <= width;
  const lines: string[] = [];
  let line = "";
  for (const word of drawable(font, text).split(" ")) {
    const candidate = line ? `${line} ${word}` : word;
    if (fits(candidate)) {
      line = candidate;
      continue;
    }
    if (line) lines.push(line);
    line = "";
    // Break a word too long for a line on its own (hashes, ids, user agents).
    let rest = word;
    while (!fits(rest)) {
      let cut = rest.length - 1;
      while (cut > 1 && !fits(rest.slice(0, cut))) cut--;
      lines.push(rest.slice(0, cut));
      rest = rest.slice(cut);
    }
    line = rest;
  }
  lines.push(line);
  return lines;
}

/** A running layout: the current page and the height left on it. */
class Layout {
  page!: PDFPage;
  y = 0;
  /** Called after each page break (the table repeats its header). */
  onNewPage: (() => void) | undefined;

  constructor(
    readonly doc: PDFDocument,
    readonly fonts: Fonts,
  ) {
    this.newPage();
  }

  newPage(): void {
    this.page = this.doc.addPage(PAGE);
    this.y = PAGE[1] - MARGIN;
    this.onNewPage?.();
  }

  /** Makes sure `height` fits above the bottom margin, starting a page if not. */
  ensure(height: number): void {
    if (this.y - height < MARGIN) this.newPage();
  }

  /** A wrapped paragraph; each line is placed on its own, so a long one flows on to the next page. */
  paragraph(text: string, options: { font?: PDFFont; size?: number; indent?: number; color?: typeof BLACK; after?: number } = {}): void {
    const font = options.font ?? this.fonts.regular;
    const size = options.size ?? 10;
    const indent = options.indent ?? 0;
    const leading = size * 1.3;
    for (const line of wrap(text, font, size, WIDTH - indent)) {
      this.ensure(leading);
      this.y -= leading;
      this.page.drawText(line, { x: MARGIN + indent, y: this.y + (leading - size) / 2 + 1, size, font, color: options.color ?? BLACK });
    }
    this.y -= options.after ?? 4;
  }

  heading(text: string, size: number): void {
    this.ensure(size * 1.4 + 40); // never a heading alone at the foot of a page
    this.y -= 6;
    this.paragraph(text, { font: this.fonts.bold, size, after: 6 });
  }

  /** "Label   value" rows, the value wrapped beside its label. */
  facts(rows: readonly [string, string][]): void {
    const size = 10;
    const leading = 13;
    const labelWidth = 110;
    for (const [label, value] of rows) {
      const lines = wrap(value, this.fonts.regular, size, WIDTH - labelWidth);
      this.ensure(lines.length * leading);
      this.page.drawText(drawable(this.fonts.bold, label), { x: MARGIN, y: this.y - leading + 3, size, font: this.fonts.bold, color: BLACK });
      for (const line of lines) {
        this.y -= leading;
        this.page.drawText(line, { x: MARGIN + labelWidth, y: this.y + 3, size, font: this.fonts.regular, color: BLACK });
      }
      this.y -= 3;
    }
    this.y -= 6;
  }
}

interface Column {
  title: string;
  width: number;
  cell: (event: AuditEvent) => string;
  bold?: (event: AuditEvent) => boolean;
}

const COLUMNS: readonly Column[] = [
  { title: "Seq", width: 34, cell: (e) => String(e.seq) },
  { title: "Time (UTC)", width: 66, cell: (e) => utcTime(e.at).replace(" UTC", "") },
  { title: "Who", width: 108, cell: (e) => actorText(e.actor) },
  { title: "Action", width: 92, cell: (e) => e.action },
  { title: "Outcome", width: 50, cell: (e) => OUTCOME_LABELS[e.outcome], bold: (e) => e.outcome !== "success" },
  { title: "IP", width: 70, cell: (e) => e.ip ?? "-" },
  { title: "Offline", width: WIDTH - 34 - 66 - 108 - 92 - 50 - 70, cell: (e) => (e.recordedOffline ? `recorded offline at ${utcTime(e.recordedOffline.at)}` : "") },
];
const CELL_PAD = 3;
const CELL_SIZE = 8;
const CELL_LEADING = 10;

function drawRow(layout: Layout, texts: readonly string[], fonts: readonly PDFFont[], fill?: typeof HEADER_FILL): void {
  const cells = COLUMNS.map((column, i) => wrap(texts[i]!, fonts[i]!, CELL_SIZE, column.width - 2 * CELL_PAD));
  const height = Math.max(...cells.map((lines) => lines.length)) * CELL_LEADING + 2 * CELL_PAD;
  layout.ensure(height);
  const top = layout.y;
  if (fill) layout.page.drawRectangle({ x: MARGIN, y: top - height, width: WIDTH, height, color: fill });
  let x = MARGIN;
  COLUMNS.forEach((column, i) => {
    cells[i]!.forEach((line, n) => {
      layout.page.drawText(line, { x: x + CELL_PAD, y: top - CELL_PAD - (n + 1) * CELL_LEADING + 2.5, size: CELL_SIZE, font: fonts[i]!, color: BLACK });
    });
    x += column.width;
  });
  layout.y = top - height;
  layout.page.drawLine({ start: { x: MARGIN, y: layout.y }, end: { x: MARGIN + WIDTH, y: layout.y }, thickness: 0.5, color: RULE });
}

function eventsTable(layout: Layout, events: readonly AuditEvent[]): void {
  const { regular, bold } = layout.fonts;
  const header = () => drawRow(layout, COLUMNS.map((c) => c.title), COLUMNS.map(() => bold), HEADER_FILL);
  // Room for the header and at least one row before starting the table.
  layout.ensure(4 * CELL_LEADING + 4 * CELL_PAD);
  header();
  layout.onNewPage = header;
  for (const event of events) {
    drawRow(layout, COLUMNS.map((c) => c.cell(event)), COLUMNS.map((c) => (c.bold?.(event) ? bold : regular)));
  }
  layout.onNewPage = undefined;
  layout.y -= 8;
}

function integrity(layout: Layout, events: readonly AuditEvent[]): void {
  const { bold, mono } = layout.fonts;
  layout.heading("Integrity", 14);
  layout.paragraph(
    "Each event's SHA-512 hash covers all of its content and the hash of the event before it. To verify, export the organisation's full audit trail as JSON lines (Audit page, Export JSON lines, with no filters), run `npm run audit:verify -- <file>` on it, and check that each hash below appears in that export with the same seq.",
    { after: 8 },
  );
  for (const event of events) {
    const title = wrap(`Event ${event.seq} · ${event.action} · ${utcTime(event.at)}`, bold, 9, WIDTH);
    const hash = wrap(event.hash, mono, 8, WIDTH);
    layout.ensure(title.length * 12 + hash.length * 10 + 6); // a hash is never split from its event
    layout.paragraph(title.join(" "), { font: bold, size: 9, after: 1 });
    layout.paragraph(event.hash, { font: mono, size: 8, after: 6 });
  }
}

function footers(doc: PDFDocument, fonts: Fonts, label: string): void {
  const pages = doc.getPages();
  pages.forEach((page, index) => {
    const number = `Page ${index + 1} of ${pages.length}`;
    const numberWidth = fonts.regular.widthOfTextAtSize(number, 8);
    page.drawText(number, { x: PAGE[0] - MARGIN - numberWidth, y: FOOTER_Y, size: 8, font: fonts.regular, color: GREY });
    // One line: shortened with an ellipsis rather than run into the page number.
    const room = WIDTH - numberWidth - 16;
    let left = drawable(fonts.regular, label);
    if (fonts.regular.widthOfTextAtSize(left, 8) > room) {
      while (left && fonts.regular.widthOfTextAtSize(`${left}…`, 8) > room) left = left.slice(0, -1);
      left = `${left}…`;
    }
    page.drawText(left, { x: MARGIN, y: FOOTER_Y, size: 8, font: fonts.regular, color: GREY });
  });
}

/** Builds the report. Saved without object streams, so its structure reads plainly in any PDF tool. */
export async function buildChainOfCustodyPdf(input: ReportInput): Promise<Uint8Array> {
  const doc = await PDFDocument.create();
  const target = `${input.target.type} ${input.target.id}`;
  doc.setTitle(`Chain of custody: ${target}`);
  doc.setSubject(`Audit events of ${target} in ${input.organisation}`);
  doc.setAuthor(`${input.generatedBy.name} <${input.generatedBy.email}>`);
  doc.setCreator("Custody");
  doc.setCreationDate(input.generatedAt);
  const fonts: Fonts = {
    regular: await doc.embedFont(StandardFonts.Helvetica),
    bold: await doc.embedFont(StandardFonts.HelveticaBold),
    mono: await doc.embedFont(StandardFonts.Courier),
  };
  const layout = new Layout(doc, fonts);
  const { events } = input;

  layout.paragraph("Chain of custody", { font: fonts.bold, size: 22, after: 10 });
  layout.facts([
    ["Organisation", input.organisation],
    ["Target", target],
    ["Generated at", utcTime(input.generatedAt.toISOString())],
    ["Generated by", `${input.generatedBy.name} (${input.generatedBy.email})`],
    ["Events", events.length ? `${events.length} (seq ${events[0]!.seq} to ${events.at(-1)!.seq})` : "none"],
  ]);
  layout.paragraph(
    "Every event of the organisation's tamper-evident audit trail whose target is the item above, in chain order. Times are UTC. \"Recorded offline\" marks an action recorded on a device while offline: its time there is the device's; Time is when the server received it.",
    { color: GREY, size: 9, after: 8 },
  );

  layout.heading("Events", 14);
  if (events.length === 0) layout.paragraph("No events are recorded for this target.");
  else eventsTable(layout, events);

  integrity(layout, events);
  footers(doc, fonts, `Chain of custody · ${target}`);
  return doc.save({ useObjectStreams: false });
}

