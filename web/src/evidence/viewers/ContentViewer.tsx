/**
 * The viewer for an opened item that is not a video (the video player is EvidencePage's own):
 * photos zoomable, PDFs in pdf.js, recordings in an audio player; other types say to download.
 */
import { AudioViewer } from "./AudioViewer";
import { ImageViewer } from "./ImageViewer";
import { PdfViewer } from "./PdfViewer";
import "./viewers.css";

/** Whether ContentViewer shows this type (videos are played by the page's player). */
export function hasViewer(mediaType: string): boolean {
  return mediaType.startsWith("image/") || mediaType.startsWith("audio/") || mediaType === "application/pdf";
}

export function ContentViewer(props: { url: string; mediaType: string; fileName: string }) {
  const { url, mediaType, fileName } = props;
  if (mediaType.startsWith("image/")) return <ImageViewer url={url} alt={fileName} />;
  if (mediaType.startsWith("audio/")) return <AudioViewer url={url} fileName={fileName} />;
  if (mediaType === "application/pdf") return <PdfViewer url={url} fileName={fileName} />;
  return <p class="muted">This file type ({mediaType}) can't be shown in the app. Download the original to open it.</p>;
}
