/**
 * Building blocks of the PDF reports (pdf-lib, standard fonts): A4 pages with a running layout
 * where every line is wrapped to the page and a row or block that does not fit moves to the
 * next page, so no text is ever cut off; tables whose header repeats on each page; footers with
 * page numbers. Used by the audit report in the browser and the case package's chain-of-custody
 * report (shared/disclosure), in the browser, Node and the bench alike.
 */
import { PDFDocument, rgb, StandardFonts, type PDFFont, type PDFPage } from "pdf-lib";

// A4 in points, 40 pt margins; the footer sits in the bottom margin.
export const PAGE: [number, number] = [595.28, 841.89];
export const MARGIN = 40;
const FOOTER_Y = 22;
export const WIDTH = PAGE[0] - 2 * MARGIN;
export const BLACK = rgb(0.09, 0.13, 0.17);
export const GREY = rgb(0.35, 0.38, 0.43);
export const RULE = rgb(0.75, 0.78, 0.82);
export const HEADER_FILL = rgb(0.91, 0.93, 0.96);

export interface Fonts {
  regular: PDFFont;
  bold: PDFFont;
  mono: PDFFont;
}

/**
 * Text the standard (WinAnsi) fonts can draw: tabs become spaces and anything the font has no
 * glyph for (emoji, most non-Latin scripts) becomes "?", so an odd user agent cannot break the report.
 */
export function drawable(font: PDFFont, text: string): string {
  const supported = charsets.get(font) ?? new Set(font.getCharacterSet());
  charsets.set(font, supported);
  let out = "";
  for (const char of text.replace(/[\t\r\n]+/g, " ")) out += supported.has(char.codePointAt(0)!) ? char : "?";
  return out;
}
const charsets = new Map<PDFFont, Set<number>>();

/** Splits text into lines no wider than `width`: at spaces where possible, inside a word when it alone is too wide. */
export function wrap(text: string, font: PDFFont, size: number, width: number): string[] {
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
export class Layout {
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

/** One column of a table: its title, width in points and how a row reads in it. */
export interface Column<Row> {
  title: string;
  width: number;
  cell: (row: Row) => string;
  bold?: (row: Row) => boolean;
}

const CELL_PAD = 3;
const CELL_SIZE = 8;
const CELL_LEADING = 10;

function drawRow<Row>(layout: Layout, columns: readonly Column<Row>[], texts: readonly string[], fonts: readonly PDFFont[], fill?: typeof HEADER_FILL): void {
  const cells = columns.map((column, i) => wrap(texts[i]!, fonts[i]!, CELL_SIZE, column.width - 2 * CELL_PAD));
  const height = Math.max(...cells.map((lines) => lines.length)) * CELL_LEADING + 2 * CELL_PAD;
  layout.ensure(height);
  const top = layout.y;
  if (fill) layout.page.drawRectangle({ x: MARGIN, y: top - height, width: WIDTH, height, color: fill });
  let x = MARGIN;
  columns.forEach((column, i) => {
    cells[i]!.forEach((line, n) => {
      layout.page.drawText(line, { x: x + CELL_PAD, y: top - CELL_PAD - (n + 1) * CELL_LEADING + 2.5, size: CELL_SIZE, font: fonts[i]!, color: BLACK });
    });
    x += column.width;
  });
  layout.y = top - height;
  layout.page.drawLine({ start: { x: MARGIN, y: layout.y }, end: { x: MARGIN + WIDTH, y: layout.y }, thickness: 0.5, color: RULE });
}

/** A table of `rows`, its header repeated at the top of each page it runs on to. */
export function table<Row>(layout: Layout, columns: readonly Column<Row>[], rows: readonly Row[]): void {
  const { regular, bold } = layout.fonts;
  const header = () => drawRow(layout, columns, columns.map((c) => c.title), columns.map(() => bold), HEADER_FILL);
  // Room for the header and at least one row before starting the table.
  layout.ensure(4 * CELL_LEADING + 4 * CELL_PAD);
  header();
  layout.onNewPage = header;
  for (const row of rows) {
    drawRow(layout, columns, columns.map((c) => c.cell(row)), columns.map((c) => (c.bold?.(row) ? bold : regular)));
  }
  layout.onNewPage = undefined;
  layout.y -= 8;
}

export function footers(doc: PDFDocument, fonts: Fonts, label: string): void {
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

/** The three standard fonts the reports use. */
export async function embedFonts(doc: PDFDocument): Promise<Fonts> {
  return { regular: await doc.embedFont(StandardFonts.Helvetica), bold: await doc.embedFont(StandardFonts.HelveticaBold), mono: await doc.embedFont(StandardFonts.Courier) };
}
