/**
 * Building blocks the redaction editors drop in (docs/redaction-detection.md):
 * - <FindFaces>: "Find faces" on the picture shown (photo, page, video frame); each face found is
 *   a checkbox ("Face 1 (score 93 %)"), all ticked at first, and "Add" hands the ticked ones to
 *   the editor as regions to adjust like any other;
 * - useTracker() and <TrackRegion>: "Track this region" follows the selected region through the
 *   video and hands its keys to the editor, with progress, remaining time and a stop button.
 */
import { useEffect, useId, useRef, useState } from "preact/hooks";
import type { RegionKey } from "../../../shared/crypto/manifest";
import { formatDuration } from "../ui/format";
import { ProgressBar } from "../ui/progress";
import { detectFaces, type Detection } from "./detect";
import { trackRegion, type TrackOptions, type TrackProgress, type TrackResult } from "./track";
import "./detection.css";

/** The buttons under a list of faces found: add the ticked ones as regions (none ticked: disabled), or discard the list. */
export function AddFaces(props: { count: number; onFinish: (add: boolean) => void }) {
  return (
    <div class="actions">
      <button type="button" class="primary" disabled={props.count === 0} onClick={() => props.onFinish(true)}>
        {props.count === 1 ? "Add 1 face as a region" : `Add ${props.count} faces as regions`}
      </button>
      <button type="button" class="secondary" onClick={() => props.onFinish(false)}>
        Discard
      </button>
    </div>
  );
}

/** "Face 2 (score 87 %)": how a detection is named on screen and to assistive technology. */
export function faceLabel(index: number, face: Detection): string {
  return `Face ${index + 1} (score ${Math.round(face.score * 100)} %)`;
}

type FindState = { phase: "idle" } | { phase: "busy" } | { phase: "chosen"; faces: Detection[]; ticked: boolean[] } | { phase: "failed"; message: string };

export function FindFaces(props: {
  /** The picture to search, asked for when the person presses the button (the editor's current photo, page or frame). */
  source: () => ImageBitmapSource | Promise<ImageBitmapSource>;
  /** The faces the person kept, when they press "Add". */
  onAccept: (faces: Detection[]) => void;
  /** The ticked faces while the person chooses (for the editor to outline them), then [] once they add or discard. */
  onPreview?: (faces: Detection[]) => void;
  disabled?: boolean;
}) {
  const [state, setState] = useState<FindState>({ phase: "idle" });
  const firstBox = useRef<HTMLInputElement>(null);
  const idBase = useId();
  const alive = useRef(true);
  useEffect(
    () => () => {
      alive.current = false;
    },
    [],
  );

  const preview = (faces: Detection[], ticked: boolean[]) => props.onPreview?.(faces.filter((_, i) => ticked[i]));

  async function find() {
    setState({ phase: "busy" });
    try {
      const faces = await detectFaces(await props.source());
      if (!alive.current) return;
      const ticked = faces.map(() => true);
      setState({ phase: "chosen", faces, ticked });
      preview(faces, ticked);
    } catch (error) {
      if (!alive.current) return;
      setState({ phase: "failed", message: `Faces could not be searched for: ${error instanceof Error ? error.message : String(error)}. Draw the regions by hand.` });
    }
  }

  useEffect(() => {
    if (state.phase === "chosen" && state.faces.length > 0) firstBox.current?.focus();
  }, [state.phase]);

  function toggle(index: number) {
    if (state.phase !== "chosen") return;
    const ticked = state.ticked.map((t, i) => (i === index ? !t : t));
    setState({ ...state, ticked });
    preview(state.faces, ticked);
  }

  function finish(add: boolean) {
    if (state.phase !== "chosen") return;
    const kept = state.faces.filter((_, i) => state.ticked[i]);
    setState({ phase: "idle" });
    props.onPreview?.([]);
    if (add) props.onAccept(kept);
  }

  const busy = state.phase === "busy";
  const count = state.phase === "chosen" ? state.ticked.filter(Boolean).length : 0;
  return (
    <div class="find-faces">
      <button type="button" class="secondary" onClick={() => void find()} disabled={busy || props.disabled} aria-busy={busy || undefined}>
        {busy && <span class="spinner" aria-hidden="true" />}
        {busy ? "Finding faces…" : "Find faces"}
      </button>
      <p role="status" class="status">
        {busy
          ? "Looking for faces on this device…"
          : state.phase === "chosen"
            ? state.faces.length === 0
              ? "No faces found. Draw a region over any face the finder missed."
              : `${state.faces.length} ${state.faces.length === 1 ? "face" : "faces"} found. Untick any that is not a face, then add them; check the picture for faces it missed.`
            : ""}
      </p>
      {state.phase === "failed" && (
        <p role="alert" class="alert">
          {state.message}
        </p>
      )}
      {state.phase === "chosen" && state.faces.length > 0 && (
        <fieldset class="find-faces-list">
          <legend>Faces found</legend>
          {state.faces.map((face, i) => (
            <div class="check-field" key={i}>
              <input type="checkbox" id={`${idBase}-${i}`} ref={i === 0 ? firstBox : undefined} checked={state.ticked[i]} onChange={() => toggle(i)} />
              <label for={`${idBase}-${i}`}>{faceLabel(i, face)}</label>
            </div>
          ))}
          <AddFaces count={count} onFinish={finish} />
        </fieldset>
      )}
    </div>
  );
}

export type TrackerState =
  | { phase: "idle" }
  | { phase: "tracking"; progress: TrackProgress | null; startedAt: number }
  | { phase: "finished"; result: TrackResult }
  | { phase: "failed"; message: string };

/** Runs one tracking at a time for a component; stopped when the component goes away. */
export function useTracker() {
  const [state, setState] = useState<TrackerState>({ phase: "idle" });
  const controller = useRef<AbortController | null>(null);
  useEffect(() => () => controller.current?.abort(), []);

  async function start(options: Omit<TrackOptions, "signal" | "onProgress">): Promise<TrackResult | null> {
    controller.current?.abort();
    const own = new AbortController();
    controller.current = own;
    const startedAt = performance.now();
    setState({ phase: "tracking", progress: null, startedAt });
    try {
      const result = await trackRegion({ ...options, signal: own.signal, onProgress: (progress) => setState({ phase: "tracking", progress, startedAt }) });
      if (controller.current === own) setState({ phase: "finished", result });
      return result;
    } catch (error) {
      if (controller.current === own) setState({ phase: "failed", message: `The region could not be tracked: ${error instanceof Error ? error.message : String(error)}. Place its keys by hand.` });
      return null;
    } finally {
      if (controller.current === own) controller.current = null;
    }
  }

  return { state, start, stop: () => controller.current?.abort() };
}

const seconds = (t: number) => `${t.toFixed(1)} s`;

/** What a finished tracking did, in words. */
export function trackSummary(result: TrackResult): string {
  const keys = `${result.keys.length} ${result.keys.length === 1 ? "key" : "keys"}`;
  if (result.end === "lost")
    return `Lost at ${seconds(result.lostAt!)}: the region follows the object to ${seconds(result.reached)} (${keys}). Place it again there and track on, or move it by hand.`;
  if (result.end === "cancelled") return `Stopped at ${seconds(result.reached)}; the region follows the object up to there (${keys}).`;
  return `Tracked to ${seconds(result.reached)} (${keys}). Play it through to check the region stays on the object.`;
}

/** "Track this region": `options()` gives the region, its time and the frames when pressed (null: nothing to track). */
export function TrackRegion(props: {
  options: () => Omit<TrackOptions, "signal" | "onProgress"> | null;
  onKeys: (keys: RegionKey[], result: TrackResult) => void;
  label?: string;
  disabled?: boolean;
}) {
  const tracker = useTracker();
  const { state } = tracker;

  async function run() {
    const options = props.options();
    if (!options) return;
    const result = await tracker.start(options);
    if (result) props.onKeys(result.keys, result);
  }

  const tracking = state.phase === "tracking";
  let progress = null;
  if (state.phase === "tracking") {
    const fraction = state.progress?.fraction ?? 0;
    const elapsed = (performance.now() - state.startedAt) / 1000;
    const percent = Math.floor(fraction * 100);
    const left = fraction > 0.02 ? ` · ${formatDuration((elapsed * (1 - fraction)) / fraction)} left` : "";
    progress = <ProgressBar label="Tracking the region" value={percent} text={`${percent} %${state.progress ? ` · at ${seconds(state.progress.t)}` : ""}${left}`} />;
  }
  return (
    <div class="track-region">
      <div class="actions">
        <button type="button" class="secondary" onClick={() => void run()} disabled={tracking || props.disabled} aria-busy={tracking || undefined}>
          {props.label ?? "Track this region"}
        </button>
        {tracking && (
          <button type="button" class="secondary" onClick={tracker.stop}>
            Stop tracking
          </button>
        )}
      </div>
      {progress}
      <p role="status" class="status">
        {state.phase === "finished" ? trackSummary(state.result) : ""}
      </p>
      {state.phase === "failed" && (
        <p role="alert" class="alert">
          {state.message}
        </p>
      )}
    </div>
  );
}
