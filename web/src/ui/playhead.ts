/**
 * Follows a video element's playhead: on every painted frame where the browser says so
 * (requestVideoFrameCallback, for overlays that move smoothly), else on timeupdate and seeked;
 * its duration once known; its speed. Returns the function that stops following.
 */
export function followPlayhead(
  element: HTMLVideoElement,
  on: { position: (t: number) => void; duration: (seconds: number) => void; painted?: () => void; rate?: (rate: number) => void },
): () => void {
  let frame = 0;
  const update = () => on.position(element.currentTime);
  const onFrame = () => {
    update();
    frame = element.requestVideoFrameCallback(onFrame);
  };
  if ("requestVideoFrameCallback" in element) frame = element.requestVideoFrameCallback(onFrame);
  const onMeta = () => on.duration(Number.isFinite(element.duration) ? element.duration : 0);
  const onPainted = () => {
    update();
    on.painted?.();
  };
  const onRate = () => on.rate?.(element.playbackRate);
  const listeners: [string, () => void][] = [
    ["timeupdate", update],
    ["seeked", onPainted],
    ["loadeddata", onPainted],
    ["loadedmetadata", onMeta],
    ["durationchange", onMeta],
    ["ratechange", onRate],
  ];
  for (const [type, listener] of listeners) element.addEventListener(type, listener);
  if (element.readyState >= 1) onMeta();
  return () => {
    if ("cancelVideoFrameCallback" in element) element.cancelVideoFrameCallback(frame);
    for (const [type, listener] of listeners) element.removeEventListener(type, listener);
  };
}
