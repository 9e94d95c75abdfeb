/**
 * What kind of file an item is, from its media type, and a small picture for it: the decrypted
 * thumbnail where the item has one (photos and videos, docs/evidence-format.md §5.2), else an icon
 * for its type. Decorative beside the item's name, so hidden from assistive technology unless asked.
 */
import type { JSX } from "preact";

export type FileKind = "image" | "video" | "audio" | "pdf" | "document" | "unknown";

const DOCUMENT_TYPES = /^(text\/|application\/(msword|rtf|vnd\.openxmlformats|vnd\.oasis\.opendocument|vnd\.ms-))/;

/** The kind of a media type; "unknown" when there is none (an item whose label this device cannot open). */
export function fileKind(mediaType: string | undefined): FileKind {
  if (!mediaType) return "unknown";
  if (mediaType.startsWith("image/")) return "image";
  if (mediaType.startsWith("video/")) return "video";
  if (mediaType.startsWith("audio/")) return "audio";
  if (mediaType === "application/pdf") return "pdf";
  if (DOCUMENT_TYPES.test(mediaType)) return "document";
  return "unknown";
}

export const FILE_KIND_LABELS: Record<FileKind, string> = { image: "Photo", video: "Video", audio: "Audio", pdf: "PDF", document: "Document", unknown: "File" };

const PATHS: Record<FileKind, JSX.Element> = {
  image: (
    <>
      <rect x="3" y="5" width="18" height="14" rx="2" />
      <circle cx="9" cy="10" r="1.5" />
      <path d="m21 16-5-5-8 8" />
    </>
  ),
  video: (
    <>
      <rect x="2" y="6" width="14" height="12" rx="2" />
      <path d="m16 10 6-3v10l-6-3Z" />
    </>
  ),
  audio: (
    <>
      <path d="M9 18V5l11-2v13" />
      <circle cx="6" cy="18" r="3" />
      <circle cx="17" cy="16" r="3" />
    </>
  ),
  pdf: (
    <>
      <path d="M6 2h9l5 5v15H6Z" />
      <path d="M14 2v6h6" />
      <path d="M9 14h1.5a1.5 1.5 0 0 0 0-3H9v6M14 11v6h1a2 2 0 0 0 2-2v-2a2 2 0 0 0-2-2Z" />
    </>
  ),
  document: (
    <>
      <path d="M6 2h9l5 5v15H6Z" />
      <path d="M14 2v6h6M9 13h8M9 17h6" />
    </>
  ),
  unknown: (
    <>
      <path d="M6 2h9l5 5v15H6Z" />
      <path d="M14 2v6h6" />
    </>
  ),
};

/** The icon for a kind of file. */
export function FileTypeIcon(props: { kind: FileKind }) {
  return (
    <svg class="file-icon" viewBox="0 0 24 24" width="32" height="32" fill="none" stroke="currentColor" stroke-width="1.6" stroke-linecap="round" stroke-linejoin="round" aria-hidden="true" focusable="false">
      {PATHS[props.kind]}
    </svg>
  );
}

/**
 * The item's picture in a list: its thumbnail (`src`, an object URL of the decrypted image) when
 * there is one, else its type icon with the type's name under it.
 */
export function ItemThumb(props: { mediaType: string | undefined; src?: string | undefined }) {
  const kind = fileKind(props.mediaType);
  return (
    <span class="item-thumb" data-kind={kind}>
      {props.src ? (
        <img src={props.src} alt="" class="item-thumb-picture" decoding="async" />
      ) : (
        <>
          <FileTypeIcon kind={kind} />
          <span class="item-thumb-kind" aria-hidden="true">
            {FILE_KIND_LABELS[kind]}
          </span>
        </>
      )}
    </span>
  );
}
