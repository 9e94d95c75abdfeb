/**
 * The stored ZIP that court packages use (docs/evidence-format.md §8.1), written and read byte
 * for byte the same way: every entry stored (method 0), no compression, no encryption, no
 * comments, no extra fields but ZIP64's; entry times in UTC; every entry but the last with its
 * size and CRC-32 in the local header, the last (the streamed original) with a data descriptor;
 * ZIP64 (APPNOTE 6.3.10 §4.3.14–4.3.16, §4.5.3) when the archive needs it, or when asked.
 * The verifier rebuilds each header from what it read and compares: any other byte is refused.
 * Web-standard only.
 */

/** ZIP's CRC-32 (ISO 3309 polynomial; a checksum, not a security check). */
const CRC_TABLE = (() => {
  const table = new Int32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c;
  }
  return table;
})();

/** Continue a CRC-32 (start with 0) over `bytes`; unsigned 32-bit result. */
export function crc32(crc: number, bytes: Uint8Array): number {
  let c = crc ^ 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** Largest value a classic 32-bit ZIP field holds; 0xFFFFFFFF itself means "see ZIP64". */
const MAX32 = 0xffff_fffe;

/** MS-DOS date and time of `date` read in UTC (2-second resolution; before 1980 clamps to 1980-01-01 00:00:00). */
export function dosDateTime(date: Date): { time: number; date: number } {
  if (date.getUTCFullYear() < 1980) return { time: 0, date: (1 << 5) | 1 };
  return {
    time: (date.getUTCHours() << 11) | (date.getUTCMinutes() << 5) | (date.getUTCSeconds() >> 1),
    date: ((date.getUTCFullYear() - 1980) << 9) | ((date.getUTCMonth() + 1) << 5) | date.getUTCDate(),
  };
}

class Bytes {
  private readonly parts: number[] = [];
  u16(v: number): this {
    this.parts.push(v & 0xff, (v >>> 8) & 0xff);
    return this;
  }
  u32(v: number): this {
    this.parts.push(v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff);
    return this;
  }
  u64(v: number): this {
    return this.u32(v % 0x1_0000_0000).u32(Math.floor(v / 0x1_0000_0000));
  }
  raw(bytes: Uint8Array): this {
    for (const b of bytes) this.parts.push(b);
    return this;
  }
  done(): Uint8Array {
    return Uint8Array.from(this.parts);
  }
}

/** One entry as the package writes it. */
export interface ZipEntryHeader {
  /** The name, UTF-8 bytes. */
  name: Uint8Array;
  crc: number;
  size: number;
  /** Offset of the local header. */
  offset: number;
  /** The streamed last entry: data descriptor (flag bit 3), crc and sizes zero in the local header. */
  streamed: boolean;
  /** ZIP64 sizes (only ever the streamed entry). */
  zip64: boolean;
  /** DOS time and date (UTC). */
  time: number;
  date: number;
}

const isAscii = (name: Uint8Array): boolean => name.every((b) => b < 0x80);
const flagsOf = (e: ZipEntryHeader): number => (isAscii(e.name) ? 0 : 0x0800) | (e.streamed ? 0x0008 : 0);
const versionOf = (e: ZipEntryHeader): number => (e.zip64 ? 45 : 20);

/** Local file header (30 bytes + name + ZIP64 extra of 20 bytes when `zip64`). */
export function localHeader(e: ZipEntryHeader): Uint8Array {
  const b = new Bytes().u32(0x04034b50).u16(versionOf(e)).u16(flagsOf(e)).u16(0).u16(e.time).u16(e.date);
  if (e.streamed) b.u32(0).u32(e.zip64 ? 0xffffffff : 0).u32(e.zip64 ? 0xffffffff : 0);
  else b.u32(e.crc).u32(e.size).u32(e.size);
  b.u16(e.name.length).u16(e.zip64 ? 20 : 0).raw(e.name);
  if (e.zip64) b.u16(0x0001).u16(16).u64(0).u64(0); // sizes follow in the data descriptor
  return b.done();
}

/** Data descriptor of the streamed entry: signature, CRC-32, compressed and original size (8 bytes each with ZIP64). */
export function dataDescriptor(e: ZipEntryHeader): Uint8Array {
  const b = new Bytes().u32(0x08074b50).u32(e.crc);
  return (e.zip64 ? b.u64(e.size).u64(e.size) : b.u32(e.size).u32(e.size)).done();
}

/**
 * Central directory file header (46 bytes + name + a ZIP64 extra field when needed): the extra
 * holds the two sizes when `zip64`, then the local header's offset when it is past 4 GiB
 * (APPNOTE §4.5.3: only the fields whose 32-bit value is 0xFFFFFFFF, in that order).
 */
export function centralHeader(e: ZipEntryHeader): Uint8Array {
  const farOffset = e.offset > MAX32;
  const extra = (e.zip64 ? 16 : 0) + (farOffset ? 8 : 0);
  const version = e.zip64 || farOffset ? 45 : 20;
  const b = new Bytes().u32(0x02014b50).u16(version).u16(version).u16(flagsOf(e)).u16(0).u16(e.time).u16(e.date).u32(e.crc);
  b.u32(e.zip64 ? 0xffffffff : e.size).u32(e.zip64 ? 0xffffffff : e.size);
  b.u16(e.name.length).u16(extra ? extra + 4 : 0).u16(0).u16(0).u16(0).u32(0).u32(farOffset ? 0xffffffff : e.offset).raw(e.name);
  if (extra) {
    b.u16(0x0001).u16(extra);
    if (e.zip64) b.u64(e.size).u64(e.size);
    if (farOffset) b.u64(e.offset);
  }
  return b.done();
}

/** End of the archive: ZIP64 end record and locator (when `zip64`), then the end of central directory record, no comment. */
export function endRecords(count: number, cdOffset: number, cdSize: number, zip64: boolean): Uint8Array {
  const b = new Bytes();
  if (zip64) {
    const at = cdOffset + cdSize;
    b.u32(0x06064b50).u64(44).u16(45).u16(45).u32(0).u32(0).u64(count).u64(count).u64(cdSize).u64(cdOffset);
    b.u32(0x07064b50).u32(0).u64(at).u32(1);
    b.u32(0x06054b50).u16(0).u16(0).u16(0xffff).u16(0xffff).u32(0xffffffff).u32(0xffffffff).u16(0);
  } else {
    b.u32(0x06054b50).u16(0).u16(0).u16(count).u16(count).u32(cdSize).u32(cdOffset).u16(0);
  }
  return b.done();
}

/** Length of `endRecords` for the given form. */
export const END_RECORDS_SIZE = { classic: 22, zip64: 56 + 20 + 22 } as const;

/**
 * Writes a stored ZIP front to back: `add` the small entries (whole), then `stream` the last one
 * (its size known up front, its CRC computed on the way), then `finish`. Each call returns the
 * bytes to emit. ZIP64 is used when any size or offset would not fit in 32 bits, or when `zip64` is set.
 */
export class StoredZipWriter {
  private readonly entries: ZipEntryHeader[] = [];
  private offset = 0;
  private streaming: ZipEntryHeader | null = null;
  private readonly time: number;
  private readonly date: number;

  constructor(mtime: Date, private readonly options: { zip64?: boolean } = {}) {
    ({ time: this.time, date: this.date } = dosDateTime(mtime));
  }

  /** A whole small entry: local header and data. */
  add(name: string, data: Uint8Array): Uint8Array[] {
    if (this.streaming) throw new Error("the streamed entry must be the last");
    const e: ZipEntryHeader = { name: new TextEncoder().encode(name), crc: crc32(0, data), size: data.length, offset: this.offset, streamed: false, zip64: false, time: this.time, date: this.date };
    if (e.size > MAX32 || e.offset > MAX32) throw new Error("only the last entry may be large");
    const header = localHeader(e);
    this.entries.push(e);
    this.offset += header.length + data.length;
    return [header, data];
  }

  /** Starts the last entry, of exactly `size` bytes: returns its local header. */
  stream(name: string, size: number): Uint8Array {
    const zip64 = this.options.zip64 === true || size > MAX32 || this.offset + size + 100_000 > MAX32;
    const e: ZipEntryHeader = { name: new TextEncoder().encode(name), crc: 0, size, offset: this.offset, streamed: true, zip64, time: this.time, date: this.date };
    this.streaming = e;
    const header = localHeader(e);
    this.offset += header.length;
    return header;
  }

  /** Bytes of the streamed entry, in order (passed through uncopied). */
  update(chunk: Uint8Array): void {
    this.streaming!.crc = crc32(this.streaming!.crc, chunk);
    this.offset += chunk.length;
  }

  /** Data descriptor, central directory and end records. */
  finish(): Uint8Array[] {
    const out: Uint8Array[] = [];
    const last = this.streaming;
    if (last) {
      const descriptor = dataDescriptor(last);
      out.push(descriptor);
      this.offset += descriptor.length;
      this.entries.push(last);
    }
    const cdOffset = this.offset;
    let cdSize = 0;
    for (const e of this.entries) {
      const header = centralHeader(e);
      out.push(header);
      cdSize += header.length;
    }
    const zip64 = last?.zip64 === true; // stream() chose it with room for everything after
    out.push(endRecords(this.entries.length, cdOffset, cdSize, zip64));
    return out;
  }
}

/**
 * Writes a stored ZIP of many entries front to back (case packages, docs/evidence-format.md §10):
 * small entries whole (`add`), large ones streamed (`stream`, `update`, `end`: size known up
 * front, CRC computed on the way, then a data descriptor), in any order, then `finish`. An
 * entry over 4 GiB gets ZIP64 sizes (or every streamed entry, with `zip64`); an entry past
 * 4 GiB gets its offset in the directory's ZIP64 extra; the end records are ZIP64 when any of
 * that happened. Keeps only the directory (a few hundred bytes an entry) in memory.
 */
export class ZipWriter {
  private readonly entries: ZipEntryHeader[] = [];
  private offset = 0;
  private streaming: ZipEntryHeader | null = null;
  private streamed = 0;
  private readonly time: number;
  private readonly date: number;

  constructor(mtime: Date, private readonly options: { zip64?: boolean } = {}) {
    ({ time: this.time, date: this.date } = dosDateTime(mtime));
  }

  /** Bytes written so far. */
  get size(): number {
    return this.offset;
  }

  /** A whole small entry (at most 4 GiB): local header and data. */
  add(name: string, data: Uint8Array): Uint8Array[] {
    if (this.streaming) throw new Error("an entry is still streaming");
    const e: ZipEntryHeader = { name: new TextEncoder().encode(name), crc: crc32(0, data), size: data.length, offset: this.offset, streamed: false, zip64: false, time: this.time, date: this.date };
    if (e.size > MAX32) throw new Error("a whole entry must be smaller than 4 GiB: stream it");
    const header = localHeader(e);
    this.entries.push(e);
    this.offset += header.length + data.length;
    return [header, data];
  }

  /** Starts a streamed entry of exactly `size` bytes: returns its local header. */
  stream(name: string, size: number): Uint8Array {
    if (this.streaming) throw new Error("an entry is still streaming");
    const e: ZipEntryHeader = { name: new TextEncoder().encode(name), crc: 0, size, offset: this.offset, streamed: true, zip64: this.options.zip64 === true || size > MAX32, time: this.time, date: this.date };
    this.streaming = e;
    this.streamed = 0;
    const header = localHeader(e);
    this.offset += header.length;
    return header;
  }

  /** Bytes of the streamed entry, in order (passed through uncopied by the caller). */
  update(chunk: Uint8Array): void {
    const e = this.streaming;
    if (!e) throw new Error("no entry is streaming");
    this.streamed += chunk.length;
    if (this.streamed > e.size) throw new Error(`more bytes than the ${e.size} announced`);
    e.crc = crc32(e.crc, chunk);
    this.offset += chunk.length;
  }

  /** Ends the streamed entry: its data descriptor. */
  end(): Uint8Array {
    const e = this.streaming;
    if (!e) throw new Error("no entry is streaming");
    if (this.streamed !== e.size) throw new Error(`${this.streamed} bytes streamed, ${e.size} announced`);
    const descriptor = dataDescriptor(e);
    this.offset += descriptor.length;
    this.entries.push(e);
    this.streaming = null;
    return descriptor;
  }

  /** Central directory and end records. */
  finish(): Uint8Array[] {
    if (this.streaming) throw new Error("an entry is still streaming");
    const out: Uint8Array[] = [];
    const cdOffset = this.offset;
    let cdSize = 0;
    for (const e of this.entries) {
      const header = centralHeader(e);
      out.push(header);
      cdSize += header.length;
    }
    out.push(endRecords(this.entries.length, cdOffset, cdSize, needsZip64End(this.entries, cdOffset, cdSize, this.options.zip64 === true)));
    return out;
  }
}

/** Whether a many-entry archive ends with ZIP64 records: when asked, or when an entry, the count or the directory needs them. */
export function needsZip64End(entries: readonly ZipEntryHeader[], cdOffset: number, cdSize: number, asked: boolean): boolean {
  return asked || entries.length >= 0xffff || cdOffset > MAX32 || cdSize > MAX32 || entries.some((e) => e.zip64 || e.offset > MAX32);
}
