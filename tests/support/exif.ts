/** EXIF fixtures: a JPEG given a DateTimeOriginal (and OffsetTimeOriginal), as a camera writes them. */

/**
 * A minimal EXIF APP1 segment: IFD0 with only the ExifIFD pointer, ExifIFD with DateTimeOriginal
 * and (if given) OffsetTimeOriginal, in the byte order asked for.
 */
export function exifSegment(little: boolean, dateTime: string, offset?: string): Buffer {
  const u16 = (n: number) => { const b = Buffer.alloc(2); little ? b.writeUInt16LE(n) : b.writeUInt16BE(n); return b; };
  const u32 = (n: number) => { const b = Buffer.alloc(4); little ? b.writeUInt32LE(n) : b.writeUInt32BE(n); return b; };
  const entry = (tag: number, type: number, count: number, value: Buffer) => Buffer.concat([u16(tag), u16(type), u32(count), value]);
  const exifCount = offset ? 2 : 1;
  const ifd0At = 8;
  const exifAt = ifd0At + 2 + 12 + 4;
  const dataAt = exifAt + 2 + exifCount * 12 + 4;
  const date = Buffer.from(`${dateTime}\0`, "latin1"); // 20 bytes
  const zone = Buffer.from(`${offset ?? ""}\0`, "latin1"); // 7 bytes
  const tiff = Buffer.concat([
    Buffer.from(little ? "II" : "MM", "latin1"), u16(42), u32(ifd0At),
    u16(1), entry(0x8769, 4, 1, u32(exifAt)), u32(0),
    u16(exifCount), entry(0x9003, 2, date.length, u32(dataAt)), ...(offset ? [entry(0x9011, 2, zone.length, u32(dataAt + date.length))] : []), u32(0),
    date, ...(offset ? [zone] : []),
  ]);
  const body = Buffer.concat([Buffer.from("Exif\0\0", "latin1"), tiff]);
  const length = Buffer.alloc(2);
  length.writeUInt16BE(body.length + 2);
  return Buffer.concat([Buffer.from([0xff, 0xe1]), length, body]);
}

/** `jpeg` with `segment` right after its SOI marker (and after its APP0, where ffmpeg puts JFIF). */
export function withSegment(jpeg: Buffer, segment: Buffer): Buffer {
  let at = 2;
  if (jpeg[at] === 0xff && jpeg[at + 1] === 0xe0) at += 2 + jpeg.readUInt16BE(at + 2);
  return Buffer.concat([jpeg.subarray(0, at), segment, jpeg.subarray(at)]);
}

