/**
 * A recording, played with the browser's own <audio> controls from the item's per-view URL: the
 * same verified streaming path as video (the service worker hands over each part only after its
 * SHA-512 and every segment's tag passed, docs/offline.md §2).
 */
export function AudioViewer(props: { url: string; fileName: string }) {
  return (
    <section class="audio-viewer" aria-label={`Recording: ${props.fileName}`}>
      <audio src={props.url} controls preload="metadata" aria-label={props.fileName} />
    </section>
  );
}
