/**
 * A photo, zoomable and movable: buttons (zoom in, zoom out, fit), the mouse wheel, a two-finger
 * pinch, and dragging (mouse or one finger) to move around a zoomed photo; the arrow keys move it
 * too and + / − zoom when the viewer has focus. Shown from the item's per-view URL, like the players.
 */
import { useRef, useState } from "preact/hooks";
import type { TargetedEvent } from "preact";

const MIN_SCALE = 1;
const MAX_SCALE = 8;
const STEP = 1.5;

interface View {
  scale: number;
  x: number;
  y: number;
}

const FIT: View = { scale: 1, x: 0, y: 0 };

export function ImageViewer(props: { url: string; alt: string }) {
  const [view, setView] = useState<View>(FIT);
  const frame = useRef<HTMLDivElement>(null);
  const pointers = useRef(new Map<number, { x: number; y: number }>());
  const pinch = useRef<{ distance: number; scale: number } | undefined>(undefined);

  /** Keeps the photo covering the frame: it cannot be dragged out of sight. */
  const clamp = (next: View): View => {
    const scale = Math.min(MAX_SCALE, Math.max(MIN_SCALE, next.scale));
    const rect = frame.current?.getBoundingClientRect();
    const maxX = rect ? (rect.width * (scale - 1)) / 2 : 0;
    const maxY = rect ? (rect.height * (scale - 1)) / 2 : 0;
    return { scale, x: Math.min(maxX, Math.max(-maxX, next.x)), y: Math.min(maxY, Math.max(-maxY, next.y)) };
  };
  const zoomBy = (factor: number) => setView((v) => clamp({ scale: v.scale * factor, x: v.x * factor, y: v.y * factor }));
  const moveBy = (dx: number, dy: number) => setView((v) => clamp({ ...v, x: v.x + dx, y: v.y + dy }));

  const onWheel = (event: TargetedEvent<HTMLDivElement, WheelEvent>) => {
    event.preventDefault();
    zoomBy(event.deltaY < 0 ? 1.2 : 1 / 1.2);
  };
  const onPointerDown = (event: TargetedEvent<HTMLDivElement, PointerEvent>) => {
    event.currentTarget.setPointerCapture(event.pointerId);
    pointers.current.set(event.pointerId, { x: event.clientX, y: event.clientY });
    if (pointers.current.size === 2) pinch.current = { distance: spread(pointers.current), scale: view.scale };
  };
  const onPointerMove = (event: TargetedEvent<HTMLDivElement, PointerEvent>) => {
    const last = pointers.current.get(event.pointerId);
    if (!last) return;
    pointers.current.set(event.pointerId, { x: event.clientX, y: event.clientY });
    if (pointers.current.size === 2 && pinch.current) {
      const scale = (pinch.current.scale * spread(pointers.current)) / pinch.current.distance;
      setView((v) => clamp({ scale, x: (v.x * scale) / v.scale, y: (v.y * scale) / v.scale }));
    } else if (pointers.current.size === 1) {
      moveBy(event.clientX - last.x, event.clientY - last.y);
    }
  };
  const onPointerUp = (event: TargetedEvent<HTMLDivElement, PointerEvent>) => {
    pointers.current.delete(event.pointerId);
    if (pointers.current.size < 2) pinch.current = undefined;
  };
  const onKeyDown = (event: TargetedEvent<HTMLDivElement, KeyboardEvent>) => {
    const moves: Record<string, [number, number]> = { ArrowLeft: [40, 0], ArrowRight: [-40, 0], ArrowUp: [0, 40], ArrowDown: [0, -40] };
    if (event.key === "+" || event.key === "=") zoomBy(STEP);
    else if (event.key === "-") zoomBy(1 / STEP);
    else if (event.key === "0") setView(FIT);
    else if (moves[event.key]) moveBy(...moves[event.key]!);
    else return;
    event.preventDefault();
  };

  const percent = Math.round(view.scale * 100);
  return (
    <section class="image-viewer" aria-label={`Photo: ${props.alt}`}>
      <div class="viewer-tools" role="toolbar" aria-label="Photo zoom">
        <button type="button" class="small" disabled={view.scale <= MIN_SCALE} onClick={() => zoomBy(1 / STEP)}>
          Zoom out
        </button>
        <span class="viewer-status" aria-live="polite">
          Zoom {percent} %
        </span>
        <button type="button" class="small" disabled={view.scale >= MAX_SCALE} onClick={() => zoomBy(STEP)}>
          Zoom in
        </button>
        <button type="button" class="small" disabled={view.scale === 1} onClick={() => setView(FIT)}>
          Fit
        </button>
      </div>
      <div
        ref={frame}
        class={`image-frame${view.scale > 1 ? " zoomed" : ""}`}
        tabIndex={0}
        aria-label="Photo: scroll or pinch to zoom, drag or use the arrow keys to move"
        onWheel={onWheel}
        onPointerDown={onPointerDown}
        onPointerMove={onPointerMove}
        onPointerUp={onPointerUp}
        onPointerCancel={onPointerUp}
        onKeyDown={onKeyDown}
      >
        <img src={props.url} alt={props.alt} draggable={false} data-scale={view.scale} style={{ transform: `translate(${view.x}px, ${view.y}px) scale(${view.scale})` }} />
      </div>
    </section>
  );
}

function spread(points: Map<number, { x: number; y: number }>): number {
  const [a, b] = [...points.values()];
  return a && b ? Math.hypot(a.x - b.x, a.y - b.y) || 1 : 1;
}
