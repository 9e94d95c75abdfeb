/**
 * "Find faces in the whole video" for the video redaction editor (docs/redaction.md): a pass
 * through the video (or its trimmed part) that looks for faces every half second or so
 * (face-pass.ts), with progress, time left and a stop button, then a list of the faces found as
 * tracks, each a checkbox (ticked at first) with a picture of the face, when it is seen and how
 * often. The ticked ones are outlined on the video while the person chooses; "Add" makes each a
 * blurred ellipse following the face (keys at the sightings), an ordinary region from then on.
 */
import { useEffect, useId, useRef, useState } from "preact/hooks";
import { formatDuration } from "../../ui/format";
import { ProgressBar } from "../../ui/progress";
import { type FaceTrack, trackKeys } from "../face-tracks";
import { DEFAULT_SIDE, findFaceTracks, type FacePassProgress, type FacePassResult } from "../face-pass";
import { AddFaces } from "../FindFaces";
import type { Redact } from "../regions";
import { clock, regionFromKeys } from "./edit";

/** Seconds between the frames looked at, as offered; the default first. */
const STEPS = [0.5, 0.25, 1, 2] as const;

/** "Face 2 · 0:03.50–0:12.00 · 14 sightings": how a face track is named on screen and to assistive technology. */
export function faceTrackLabel(index: number, track: FaceTrack): string {
  const n = track.sightings.length;
  return `Face ${index + 1} · ${clock(track.from)}–${clock(track.to)} · ${n} ${n === 1 ? "sighting" : "sightings"}`;
}

/** A face track as a region: a blurred ellipse over the face (with a margin) at each sighting, over the track's range. */
export function faceTrackRegion(track: FaceTrack): Redact {
  return regionFromKeys("ellipse", "blur", trackKeys(track), { from: track.from, to: track.to });
}

type PassState =
  | { phase: "idle" }
  | { phase: "running"; progress: FacePassProgress | null; startedAt: number }
  | { phase: "chosen"; result: FacePassResult; ticked: boolean[] }
  | { phase: "failed"; message: string };

export function FacesInVideo(props: {
  url: string;
  /** The range to look in when the person presses the button (the trim, or the whole video); null: the video is not ready. */
  range: () => { from: number; to: number } | null;
  /** The edit has a trim: the pass looks in the trimmed part only. */
  trimmed: boolean;
  /** The ticked tracks as regions while the person chooses (for the editor to outline them), then [] once they add or discard. */
  onPreview: (regions: Redact[]) => void;
  /** The regions of the tracks the person kept, when they press "Add". */
  onAccept: (regions: Redact[]) => void;
  /** Shows a moment of the video (a face's surest sighting). */
  onShow: (t: number) => void;
  disabled?: boolean;
}) {
  const [state, setState] = useState<PassState>({ phase: "idle" });
  const [step, setStep] = useState<number>(STEPS[0]);
  const [small, setSmall] = useState(false);
  const controller = useRef<AbortController | null>(null);
  const firstBox = useRef<HTMLInputElement>(null);
  const idBase = useId();
  const alive = useRef(true);
  const pictures = useRef<Map<number, ImageBitmap> | null>(null);
  const release = () => {
    for (const picture of pictures.current?.values() ?? []) picture.close();
    pictures.current = null;
  };
  useEffect(
    () => () => {
      alive.current = false;
      controller.current?.abort();
      release();
    },
    [],
  );

  const preview = (tracks: FaceTrack[], ticked: boolean[]) => props.onPreview(tracks.filter((_, i) => ticked[i]).map(faceTrackRegion));

  async function run() {
    const range = props.range();
    if (!range) return;
    release();
    const own = new AbortController();
    controller.current = own;
    const startedAt = performance.now();
    setState({ phase: "running", progress: null, startedAt });
    try {
      const result = await findFaceTracks({
        url: props.url,
        ...range,
        step,
        side: small ? DEFAULT_SIDE * 2 : DEFAULT_SIDE,
        signal: own.signal,
        onProgress: (progress) => alive.current && setState({ phase: "running", progress, startedAt }),
      });
      if (!alive.current) {
        for (const picture of result.thumbnails.values()) picture.close();
        return;
      }
      pictures.current = result.thumbnails;
      const ticked = result.tracks.map(() => true);
      setState({ phase: "chosen", result, ticked });
      preview(result.tracks, ticked);
    } catch (error) {
      if (alive.current) setState({ phase: "failed", message: `Faces could not be searched for: ${error instanceof Error ? error.message : String(error)}. Draw the regions by hand, or try again.` });
    } finally {
      if (controller.current === own) controller.current = null;
    }
  }

  useEffect(() => {
    if (state.phase === "chosen" && state.result.tracks.length > 0) firstBox.current?.focus();
  }, [state.phase]);

  function toggle(index: number) {
    if (state.phase !== "chosen") return;
    const ticked = state.ticked.map((t, i) => (i === index ? !t : t));
    setState({ ...state, ticked });
    preview(state.result.tracks, ticked);
  }

  function finish(add: boolean) {
    if (state.phase !== "chosen") return;
    const kept = state.result.tracks.filter((_, i) => state.ticked[i]);
    release();
    setState({ phase: "idle" });
    props.onPreview([]);
    if (add) props.onAccept(kept.map(faceTrackRegion));
  }

  const running = state.phase === "running";
  let progress = null;
  if (state.phase === "running") {
    const fraction = state.progress?.fraction ?? 0;
    const elapsed = (performance.now() - state.startedAt) / 1000;
    const percent = Math.floor(fraction * 100);
    const left = fraction > 0.02 ? ` · ${formatDuration((elapsed * (1 - fraction)) / fraction)} left` : "";
    const found = state.progress ? ` · at ${clock(state.progress.t)} · ${state.progress.faces} ${state.progress.faces === 1 ? "face" : "faces"} so far` : "";
    progress = <ProgressBar label="Finding faces in the video" value={percent} text={`${percent} %${found}${left}`} />;
  }
  const where = props.trimmed ? "the trimmed part" : "the whole video";
  const count = state.phase === "chosen" ? state.ticked.filter(Boolean).length : 0;
  let status = "";
  if (state.phase === "running") status = `Looking for faces in ${where} on this device…`;
  else if (state.phase === "chosen") {
    const { tracks, end, reached, samples } = state.result;
    const how = `${samples} ${samples === 1 ? "frame" : "frames"} looked at${end === "stopped" ? `, stopped at ${clock(reached)}` : ""}`;
    status =
      tracks.length === 0
        ? `No faces found (${how}). Play the video through and draw a region over any face the finder missed.`
        : `${tracks.length} ${tracks.length === 1 ? "face" : "faces"} found (${how}). Untick any that is not a face, then add them; play the video through to check for faces missed.`;
  }

  return (
    <div class="faces-in-video">
      <div class="actions">
        <label>
          Look every{" "}
          <select value={String(step)} disabled={running || state.phase === "chosen"} onChange={(e) => setStep(Number((e.target as HTMLSelectElement).value))}>
            {STEPS.map((s) => (
              <option key={s} value={String(s)}>
                {s} s
              </option>
            ))}
          </select>
        </label>
        <label class="check-field">
          <input type="checkbox" checked={small} disabled={running || state.phase === "chosen"} onChange={(e) => setSmall((e.target as HTMLInputElement).checked)} /> Small faces too (about five times slower)
        </label>
      </div>
      <div class="actions">
        <button type="button" class="secondary" onClick={() => void run()} disabled={running || state.phase === "chosen" || props.disabled} aria-busy={running || undefined}>
          {props.trimmed ? "Find faces in the trimmed part" : "Find faces in the whole video"}
        </button>
        {running && (
          <button type="button" class="secondary" onClick={() => controller.current?.abort()}>
            Stop finding faces
          </button>
        )}
      </div>
      {progress}
      <p role="status" class="status">
        {status}
      </p>
      {state.phase === "failed" && (
        <p role="alert" class="alert">
          {state.message}
        </p>
      )}
      {state.phase === "chosen" && (
        <fieldset class="find-faces-list">
          <legend>Faces found in the video</legend>
          {state.result.tracks.map((track, i) => (
            <div class="face-track" key={track.key}>
              <Thumbnail picture={state.result.thumbnails.get(track.key)} />
              <div class="check-field">
                <input type="checkbox" id={`${idBase}-${i}`} ref={i === 0 ? firstBox : undefined} checked={state.ticked[i]} onChange={() => toggle(i)} />
                <label for={`${idBase}-${i}`}>{faceTrackLabel(i, track)}</label>
              </div>
              <button type="button" class="small" aria-label={`Show face ${i + 1} (at ${clock(track.best.t)})`} onClick={() => props.onShow(track.best.t)}>
                Show
              </button>
            </div>
          ))}
          <AddFaces count={count} onFinish={finish} />
        </fieldset>
      )}
    </div>
  );
}

/** A face's picture in the list (for sight: the checkbox's label names the face). */
function Thumbnail(props: { picture: ImageBitmap | undefined }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    const target = canvas.current;
    const picture = props.picture;
    if (!target || !picture || picture.width === 0) return;
    target.width = picture.width;
    target.height = picture.height;
    target.getContext("2d")?.drawImage(picture, 0, 0);
  }, [props.picture]);
  return <canvas ref={canvas} class="face-thumbnail" width={64} height={64} aria-hidden="true" />;
}
