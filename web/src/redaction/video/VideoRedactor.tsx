/**
 * The video redaction editor, opened from a video item's page ("Redact this video"). The video
 * with an overlay: drag on the paused frame to mark a region (rectangle or ellipse; blur,
 * pixelate or fill); moving or resizing it at another time adds a key there, and the overlay
 * follows the keys (linear between them) while playing or scrubbing. Each region has a start and
 * an end set from the playhead, keys can be removed, regions too. Audio ranges (mute or bleep)
 * and a trim. The preview draws the effects on the current frame with the same code as the copy.
 * "Make redacted copy" writes the copy in a Worker (copy.ts) with progress, time left and cancel,
 * and queues it as a new item of the case; a copy a reload cut short is offered to resume. The edit is kept on this device (Dexie) as it is made.
 *
 * "Track this region" follows the selected region from the playhead to its end (frames decoded
 * from the same URL, track.ts) and replaces its keys after the playhead with the tracker's; "Find
 * faces" adds each face kept on the paused frame as a blurred ellipse from the playhead on; "Find
 * faces in the whole video" looks through it (or its trimmed part) and offers each face found as
 * a track, outlined while the person chooses, added as a blurred ellipse that follows the face.
 *
 * Keyboard: "Add region" marks one at the playhead; a focused region moves with the arrow keys
 * and resizes with Shift + arrow keys (each a key at the playhead); "," "." step a frame.
 */
import { useEffect, useRef, useState } from "preact/hooks";
import type { CaseDetail } from "../../../../shared/api/cases";
import { MAX_REGION_KEYS, type RegionKey } from "../../../../shared/crypto/manifest";
import { db } from "../../db";
import type { DeviceKeys } from "../../keys/store";
import { addFiles } from "../../upload/queue";
import { ProgressBar } from "../../ui/progress";
import { caseHref } from "../../ui/router";
import { FindFaces, TrackRegion } from "../FindFaces";
import { drawRedactions, EFFECT_NAMES, SHAPE_NAMES, type Box, type Redact } from "../regions";
import { releaseFaceDetector, type Detection } from "../detect";
import { videoFrameReader, type TrackResult } from "../track";
import { CopyCanceled, formatDuration, removeJob, resumable, sweepLeftovers, RedactionJob, type CopyProgress } from "./copy";
import { editHash } from "./packet-log";
import { clampBox, clock, emptyEdit, ms, newRegion, operationsOf, regionBoxAt, removeKeyAt, setKeyAt, type AudioRange, type Effect, type Shape, type VideoEdit, withTrackedKeys } from "./edit";
import { FacesInVideo } from "./FacesInVideo";
import "./redactor.css";
import { followPlayhead } from "../../ui/playhead";

const FALLBACK_FPS = 30;
const SHAPES = SHAPE_NAMES;
const EFFECTS = EFFECT_NAMES;
const AUDIO: Record<AudioRange["effect"], string> = { mute: "Mute", bleep: "Bleep" };


type Drag =
  | { mode: "draw"; x0: number; y0: number; box: Box }
  | { mode: "move" | "resize"; index: number; x0: number; y0: number; start: Box; box: Box };

export interface RedactorProps {
  url: string;
  evidenceId: string;
  sha512: string;
  fileName: string;
  /** When the original's first frame was recorded, if known: the copy's capture time is that plus the trim start. */
  recordedStart: Date | undefined;
  fps: number | undefined;
  caseDetail: CaseDetail;
  userId: string;
  keys: DeviceKeys;
}

export function VideoRedactor(props: RedactorProps) {
  const video = useRef<HTMLVideoElement>(null);
  const overlay = useRef<HTMLDivElement>(null);
  const preview = useRef<HTMLCanvasElement>(null);
  const [edit, setEdit] = useState<VideoEdit>();
  const [t, setT] = useState(0);
  const [duration, setDuration] = useState(0);
  const [selected, setSelected] = useState<number>();
  const [shape, setShape] = useState<Shape>("rect");
  const [effect, setEffect] = useState<Effect>("blur");
  const [drag, setDrag] = useState<Drag>();
  const [showPreview, setShowPreview] = useState(true);
  const [audioFrom, setAudioFrom] = useState("");
  const [audioTo, setAudioTo] = useState("");
  const [audioEffect, setAudioEffect] = useState<AudioRange["effect"]>("mute");
  const [job, setJob] = useState<RedactionJob>();
  const [progress, setProgress] = useState<CopyProgress>();
  const [error, setError] = useState<string>();
  const [status, setStatus] = useState("");
  const [made, setMade] = useState<{ id: string; name: string; note?: string }>();
  /** A copy a reload cut short: how far it had got, and, when its checkpoint fits the kept edit, the job to resume. */
  const [leftover, setLeftover] = useState<{ percent: number; resume?: { jobId: string; startedAt: string } }>();
  /** The face tracks ticked while the person chooses which to add (outlined on the video, not yet regions). */
  const [candidates, setCandidates] = useState<Redact[]>([]);
  /** Bumped when the video has a frame to draw (loaded, or a seek finished), so the preview redraws. */
  const [painted, setPainted] = useState(0);
  const savedFraction = useRef(0);
  const running = useRef<RedactionJob | undefined>(undefined);
  // Closing the editor (or leaving the item) stops a copy being made: nothing half-made is queued.
  useEffect(() => () => running.current?.cancel(), []);
  /** The frame reader of the tracking under way (one at a time), closed when it ends or the editor closes. */
  const reader = useRef<Promise<{ close: () => void }> | undefined>(undefined);
  const closeReader = () => {
    void reader.current?.then((r) => r.close()).catch(() => undefined);
    reader.current = undefined;
  };
  useEffect(() => closeReader, []);
  // The face finder's Worker and model are let go when the editor closes.
  useEffect(() => () => releaseFaceDetector(), []);
  const latest = useRef(edit);
  latest.current = edit;
  /** The region being tracked and where from, fixed when "Track this region" is pressed. */
  const tracking = useRef<{ index: number; t0: number } | undefined>(undefined);

  // The kept edit of this video on this device, if any. An export a reload cut short is offered to
  // resume from its checkpoint when that is of this very edit; otherwise it is reported and its files removed.
  useEffect(() => {
    let live = true;
    void db.videoRedactions.get(props.evidenceId).then(async (row) => {
      if (!live) return;
      const kept = row && row.userId === props.userId ? row : undefined;
      const keptEdit = kept ? { regions: kept.edit.regions, audio: kept.edit.audio, ...(kept.edit.trim ? { trim: kept.edit.trim } : {}) } : emptyEdit();
      setEdit(keptEdit);
      const cut = kept?.export?.state === "running" ? kept.export : undefined;
      const resume = cut ? await resumable(cut.jobId, await editHash(props.sha512, keptEdit)).catch(() => ({ why: "unreadable" })) : undefined;
      // The files of copies cut short elsewhere stay for their own editor to offer.
      const others = (await db.videoRedactions.toArray()).filter((r) => r.evidenceId !== props.evidenceId && r.export?.state === "running").map((r) => r.export!.jobId);
      await sweepLeftovers(new Set(resume && "fraction" in resume ? [cut!.jobId, ...others] : others)).catch(() => undefined);
      if (!live) return;
      if (kept?.export?.state === "failed" && kept.export.error) setError(`The last redacted copy of this edit could not be made: ${kept.export.error}. Make it again, or change the edit first.`);
      if (cut && resume && "fraction" in resume) {
        setLeftover({ percent: Math.floor(resume.fraction * 100), resume: { jobId: cut.jobId, startedAt: cut.startedAt } });
      } else if (cut) {
        setLeftover({ percent: Math.floor(cut.fraction * 100) });
        await db.videoRedactions.update(props.evidenceId, { export: { ...cut, state: "failed", error: "the page was closed or reloaded" } });
      }
    });
    return () => {
      live = false;
    };
  }, [props.evidenceId, props.userId]);

  /** Changes the edit and keeps it on this device. */
  function change(next: VideoEdit) {
    setEdit(next);
    void db.videoRedactions
      .get(props.evidenceId)
      .then((row) =>
        db.videoRedactions.put({
          evidenceId: props.evidenceId,
          userId: props.userId,
          caseId: props.caseDetail.id,
          edit: next,
          updatedAt: new Date().toISOString(),
          ...(row?.export ? { export: row.export } : {}),
        }),
      )
      .catch(() => setError("This device couldn't keep the edit (storage full or blocked): it is lost on a reload."));
  }

  // The playhead, on every painted frame where the browser says so, else on timeupdate and seeked.
  useEffect(() => {
    const element = video.current;
    if (!element) return;
    return followPlayhead(element, { position: setT, duration: setDuration, painted: () => setPainted((n) => n + 1) });
    // The video is there once the kept edit has loaded.
  }, [props.url, edit === undefined]);

  // The preview: the current frame with every effect, drawn by the code the copy is written with.
  useEffect(() => {
    const element = video.current;
    const canvas = preview.current;
    if (!element || !canvas || !showPreview || !edit || element.readyState < 2 || !element.videoWidth) return;
    if (canvas.width !== element.videoWidth) canvas.width = element.videoWidth;
    if (canvas.height !== element.videoHeight) canvas.height = element.videoHeight;
    const context = canvas.getContext("2d");
    if (!context) return;
    context.drawImage(element, 0, 0, canvas.width, canvas.height);
    drawRedactions(context, regionsNow(edit.regions), t, canvas.width, canvas.height);
  }, [t, edit, drag, showPreview, painted]);

  /** The regions as they are drawn now: the one being dragged at its dragged box. */
  function regionsNow(regions: Redact[]): Redact[] {
    if (!drag || drag.mode === "draw") return regions;
    return regions.map((r, i) => (i === drag.index ? setKeyAt(r, t, drag.box) : r));
  }

  const frame = 1 / (props.fps ?? FALLBACK_FPS);
  function seek(to: number) {
    const element = video.current;
    if (!element) return;
    element.pause();
    element.currentTime = Math.min(Math.max(0, to), duration || to);
    setT(element.currentTime);
  }
  function step(frames: number) {
    const index = Math.max(0, Math.floor((video.current?.currentTime ?? 0) / frame + 1e-6) + frames);
    seek((index + 0.5) * frame);
  }

  /** Where a pointer is, as fractions of the frame. */
  function at(event: PointerEvent): { x: number; y: number } {
    const rect = overlay.current!.getBoundingClientRect();
    return { x: Math.min(1, Math.max(0, (event.clientX - rect.left) / rect.width)), y: Math.min(1, Math.max(0, (event.clientY - rect.top) / rect.height)) };
  }

  function onPointerDown(event: PointerEvent) {
    if (!edit || job || event.button !== 0) return;
    video.current?.pause();
    const target = event.target as HTMLElement;
    const p = at(event);
    const index = target.closest<HTMLElement>("[data-region]")?.dataset["region"];
    overlay.current!.setPointerCapture(event.pointerId);
    event.preventDefault();
    if (index !== undefined) {
      const i = Number(index);
      const start = regionBoxAt(edit.regions[i]!, t);
      setSelected(i);
      setDrag({ mode: target.classList.contains("region-handle") ? "resize" : "move", index: i, x0: p.x, y0: p.y, start, box: start });
    } else {
      setSelected(undefined);
      setDrag({ mode: "draw", x0: p.x, y0: p.y, box: { x: p.x, y: p.y, w: 0, h: 0 } });
    }
  }

  function onPointerMove(event: PointerEvent) {
    if (!drag) return;
    const p = at(event);
    if (drag.mode === "draw") {
      setDrag({ ...drag, box: { x: Math.min(drag.x0, p.x), y: Math.min(drag.y0, p.y), w: Math.abs(p.x - drag.x0), h: Math.abs(p.y - drag.y0) } });
    } else if (drag.mode === "move") {
      setDrag({ ...drag, box: clampBox({ ...drag.start, x: drag.start.x + p.x - drag.x0, y: drag.start.y + p.y - drag.y0 }) });
    } else {
      setDrag({ ...drag, box: clampBox({ ...drag.start, w: drag.start.w + p.x - drag.x0, h: drag.start.h + p.y - drag.y0 }) });
    }
  }

  function onPointerUp() {
    if (!drag || !edit) return;
    setDrag(undefined);
    if (drag.mode === "draw") {
      // A click (no real drag) only clears the selection.
      if (drag.box.w < 0.01 || drag.box.h < 0.01) return;
      const region = newRegion(shape, effect, t, drag.box, edit.trim?.to ?? (duration || t));
      change({ ...edit, regions: [...edit.regions, region] });
      setSelected(edit.regions.length);
      setStatus(`Region ${edit.regions.length + 1} marked at ${clock(t)}.`);
      return;
    }
    if (drag.box.x === drag.start.x && drag.box.y === drag.start.y && drag.box.w === drag.start.w && drag.box.h === drag.start.h) return;
    moveRegion(drag.index, drag.box);
  }

  /** Sets region `index`'s box at the playhead: a key there. */
  function moveRegion(index: number, box: Box) {
    if (!edit) return;
    const regions = edit.regions.map((r, i) => (i === index ? setKeyAt(r, t, box) : r));
    change({ ...edit, regions });
    setStatus(`Region ${index + 1}: key at ${clock(t)} (${regions[index]!.keys.length} keys).`);
  }

  /** What "Track this region" follows: the selected region from the playhead to its end (or the video's). */
  function trackOptions() {
    if (!edit || selected === undefined || !edit.regions[selected]) return null;
    const region = edit.regions[selected];
    const until = Math.min(region.to ?? duration, duration || Infinity);
    if (!(until > t)) return null;
    video.current?.pause();
    closeReader();
    const opened = videoFrameReader(props.url);
    reader.current = opened;
    tracking.current = { index: selected, t0: t };
    return { frameAt: async (at: number) => (await opened).frameAt(at), box: regionBoxAt(region, t), t0: t, until, step: frame };
  }

  function onTracked(keys: RegionKey[], result: TrackResult) {
    closeReader();
    const from = tracking.current;
    tracking.current = undefined;
    // The edit as it is now: the person may have changed it while the tracker ran.
    const edit = latest.current;
    if (!edit || !from || !edit.regions[from.index] || keys.length === 0) return;
    const region = withTrackedKeys(edit.regions[from.index]!, from.t0, keys);
    change({ ...edit, regions: edit.regions.map((r, i) => (i === from.index ? region : r)) });
    const name = `Region ${from.index + 1}`;
    if (result.end === "lost") setStatus(`${name}: lost at ${result.lostAt!.toFixed(1)} s: add a key there and track again (${region.keys.length} keys).`);
    else if (result.end === "cancelled") setStatus(`${name}: tracking stopped at ${result.reached.toFixed(1)} s; tracked keys up to there kept (${region.keys.length} keys).`);
    else setStatus(`${name}: tracked to ${result.reached.toFixed(1)} s (${region.keys.length} keys).`);
  }

  /** Each face kept on the paused frame: a blurred ellipse from the playhead to the end, ready to track. */
  function addFaces(faces: Detection[]) {
    if (!edit || faces.length === 0) return;
    const end = edit.trim?.to ?? (duration || t);
    const added = faces.map((face) => newRegion("ellipse", "blur", t, face.box, end));
    change({ ...edit, regions: [...edit.regions, ...added] });
    setSelected(edit.regions.length);
    setStatus(`${added.length} ${added.length === 1 ? "face" : "faces"} added as blurred ellipses from ${clock(t)}: select one and track it.`);
  }

  /** The faces kept from the whole-video pass: each a blurred ellipse following its face over its range. */
  function addFaceTracks(regions: Redact[]) {
    // The edit as it is now: the person may have changed it while the pass ran.
    const edit = latest.current;
    if (!edit || regions.length === 0) return;
    change({ ...edit, regions: [...edit.regions, ...regions] });
    setSelected(edit.regions.length);
    const first = edit.regions.length + 1;
    const names = regions.length === 1 ? `Region ${first}` : `Regions ${first} to ${first + regions.length - 1}`;
    const keys = [...edit.regions, ...regions].reduce((n, r) => n + r.keys.length, 0);
    if (keys > MAX_REGION_KEYS) setError(`The regions now have ${keys} keys; a copy holds at most ${MAX_REGION_KEYS}. Remove some regions (or remove these and find faces again, looking less often).`);
    setStatus(`${regions.length} ${regions.length === 1 ? "face" : "faces"} added as blurred ellipses that follow them (${names}): play the video through to check each stays on its face.`);
  }

  function onRegionKey(event: KeyboardEvent, index: number) {
    if (!edit || job) return;
    const stepSize = 0.01;
    const moves: Record<string, [number, number]> = { ArrowLeft: [-stepSize, 0], ArrowRight: [stepSize, 0], ArrowUp: [0, -stepSize], ArrowDown: [0, stepSize] };
    const move = moves[event.key];
    if (!move) return;
    event.preventDefault();
    event.stopPropagation();
    const box = regionBoxAt(edit.regions[index]!, t);
    moveRegion(index, clampBox(event.shiftKey ? { ...box, w: box.w + move[0], h: box.h + move[1] } : { ...box, x: box.x + move[0], y: box.y + move[1] }));
  }

  function onKeyDown(event: KeyboardEvent) {
    const target = event.target as HTMLElement;
    if (target.closest("input, textarea, select") || event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.key === ",") step(-1);
    else if (event.key === ".") step(1);
    else return;
    event.preventDefault();
  }

  function updateRegion(index: number, patch: (region: Redact) => Redact) {
    if (!edit) return;
    change({ ...edit, regions: edit.regions.map((r, i) => (i === index ? patch(r) : r)) });
  }

  function addAudio(event: Event) {
    event.preventDefault();
    if (!edit) return;
    const from = Number(audioFrom);
    const to = Number(audioTo);
    if (audioFrom.trim() === "" || audioTo.trim() === "" || !Number.isFinite(from) || !Number.isFinite(to) || from < 0) return setError("Set the audio range's start and end (seconds).");
    if (to <= from) return setError("The audio range's end must be after its start.");
    setError(undefined);
    change({ ...edit, audio: [...edit.audio, { type: "audio" as const, effect: audioEffect, from: ms(from), to: ms(to) }].sort((a, b) => a.from - b.from) });
    setStatus(`${AUDIO[audioEffect]} from ${clock(from)} to ${clock(to)} added.`);
    setAudioFrom("");
    setAudioTo("");
  }

  function setTrim(which: "from" | "to") {
    if (!edit) return;
    const from = which === "from" ? ms(t) : (edit.trim?.from ?? 0);
    const to = which === "to" ? ms(t) : (edit.trim?.to ?? ms(duration));
    if (to <= from) return setError("The trim's end must be after its start.");
    setError(undefined);
    change({ ...edit, trim: { from, to } });
  }

  /** Makes the copy from the start, or, with `resume`, goes on from the checkpoint a reload left. */
  async function makeCopy(resume?: { jobId: string; startedAt: string }) {
    if (!edit) return;
    setError(undefined);
    setMade(undefined);
    const hash = await editHash(props.sha512, edit);
    let resumeAt: number | undefined;
    if (resume) {
      const check = await resumable(resume.jobId, hash);
      if ("why" in check) {
        setLeftover({ percent: leftover?.percent ?? 0 });
        return setError(check.why === "edit changed" ? "The edit has changed since the copy was started, so it can't be resumed: start again." : "What was written before the reload is incomplete: start again.");
      }
      resumeAt = check.fraction;
    } else if (leftover?.resume) {
      await removeJob(leftover.resume.jobId);
    }
    setLeftover(undefined);
    let operations;
    try {
      operations = operationsOf(edit, duration);
    } catch (caught) {
      return setError(`Can't make the copy yet: ${caught instanceof Error ? caught.message : String(caught)}.`);
    }
    video.current?.pause();
    const jobId = resume?.jobId ?? Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
    const startedAt = resume?.startedAt ?? new Date().toISOString();
    savedFraction.current = resumeAt ?? 0;
    await db.videoRedactions.update(props.evidenceId, { export: { jobId, state: "running", fraction: savedFraction.current, startedAt } });
    const current = new RedactionJob(jobId, { url: props.url, evidenceId: props.evidenceId, sha512: props.sha512, fileName: props.fileName }, edit, operations, (p) => {
      setProgress(p);
      // Kept now and then, so a reload can say how far it had got.
      if (p.fraction - savedFraction.current >= 0.05) {
        savedFraction.current = p.fraction;
        void db.videoRedactions.update(props.evidenceId, { export: { jobId, state: "running", fraction: p.fraction, startedAt } });
      }
    }, hash, resumeAt);
    setJob(current);
    running.current = current;
    setProgress({ fraction: resumeAt ?? 0 });
    try {
      const copy = await current.done;
      const from = edit.trim?.from ?? 0;
      const capture = props.recordedStart ? { capturedAt: new Date(props.recordedStart.getTime() + Math.round(from * 1000)).toISOString(), device: { captureTimeSource: "clip" } } : undefined;
      const [id] = await addFiles([copy.file], { userId: props.userId, caseDetail: props.caseDetail, keys: props.keys, derivedFrom: copy.derivedFrom, ...(capture ? { capture } : {}) });
      void current.discardWhenStaged(id!);
      // Made: the edit has done its work (the copy's manifest lists it); a reload no longer reopens it.
      await db.videoRedactions.delete(props.evidenceId);
      const codec = copy.format.videoCodec === "avc" ? "H.264 in MP4" : `${copy.format.videoCodec.toUpperCase()} in WebM (this browser can't encode H.264)`;
      setMade({ id: id!, name: copy.file.name, note: `${codec}${copy.format.audioDropped ? "; without sound: this browser can't encode audio for it" : ""}` });
    } catch (caught) {
      if (caught instanceof CopyCanceled) {
        await db.videoRedactions.update(props.evidenceId, { export: undefined });
        setStatus("Canceled: nothing was added to the case. The edit is kept.");
      } else {
        const message = caught instanceof Error ? caught.message : String(caught);
        await current.discard();
        await db.videoRedactions.update(props.evidenceId, { export: { jobId, state: "failed", fraction: savedFraction.current, startedAt, error: message } });
        setError(`Couldn't make the redacted copy: ${message}.`);
      }
    } finally {
      running.current = undefined;
      setJob(undefined);
      setProgress(undefined);
    }
  }

  if (!edit) return <p class="muted">Loading the redaction editor…</p>;
  const shown = regionsNow(edit.regions);
  const percent = progress ? Math.floor(progress.fraction * 100) : 0;
  const progressText = progress
    ? `Making the redacted copy… ${percent} %${progress.secondsLeft !== undefined ? `, about ${formatDuration(progress.secondsLeft)} left` : ""}`
    : "";

  return (
    <section aria-labelledby="redact-heading" class="video-redactor" onKeyDown={onKeyDown}>
      <h3 id="redact-heading">Redact this video</h3>
      <p class="hint">
        Mark what must not be seen or heard. The redacted copy becomes a new item of this case, encrypted under its own key, that names this original and its SHA-512 and lists what was hidden where.
        The original stays as it is. The edit is kept on this device until the copy is made.
      </p>
      {leftover !== undefined && !job && (
        <div role="status" class="notice">
          {leftover.resume ? (
            <p>
              A redacted copy of this edit was being made when the page was closed or reloaded: {leftover.percent} % of it is kept on this device. Resume it from there, or start again
              (the edit must stay as it is to resume).{" "}
              <button type="button" class="small" onClick={() => void makeCopy(leftover.resume)}>
                Resume ({leftover.percent} % done)
              </button>{" "}
              <button type="button" class="small" onClick={() => void makeCopy()}>
                Start again
              </button>
            </p>
          ) : (
            <p>A redacted copy of this edit was being made ({leftover.percent} % done) when the page was closed or reloaded. The edit is kept: make the copy again to start it from the beginning.</p>
          )}
        </div>
      )}
      <div class="redact-frame">
        <video ref={video} src={props.url} playsInline preload="auto" aria-label={`${props.fileName}, for redaction`} />
        {showPreview && <canvas ref={preview} class="redact-preview" role="img" aria-label="Preview: the current frame with the effects" />}
        <div
          ref={overlay}
          class={`redact-overlay${drag ? " dragging" : ""}`}
          onPointerDown={onPointerDown}
          onPointerMove={onPointerMove}
          onPointerUp={onPointerUp}
          onPointerCancel={() => setDrag(undefined)}
        >
          {shown.map((region, i) => {
            const active = region.from === undefined || (t >= region.from && t <= region.to!);
            if (!active && i !== selected) return null;
            const box = regionBoxAt(region, t);
            const keyHere = region.keys.some((k) => k.t === ms(t));
            return (
              <div
                key={i}
                data-region={String(i)}
                role="button"
                tabIndex={0}
                aria-pressed={i === selected}
                aria-label={`Region ${i + 1}: ${EFFECTS[region.effect].toLowerCase()} ${SHAPES[region.shape].toLowerCase()}${active ? "" : ", not shown at this time"}. Arrow keys move it, Shift and arrow keys resize it, at the playhead.`}
                class={`region-box ${region.shape}${i === selected ? " selected" : ""}${active ? "" : " inactive"}${keyHere ? " key-here" : ""}`}
                style={{ left: `${box.x * 100}%`, top: `${box.y * 100}%`, width: `${box.w * 100}%`, height: `${box.h * 100}%` }}
                onFocus={() => setSelected(i)}
                onKeyDown={(e) => onRegionKey(e, i)}
              >
                <span class="region-number" aria-hidden="true">
                  {i + 1}
                </span>
                <span class="region-handle" aria-hidden="true" />
              </div>
            );
          })}
          {candidates.map((region, i) => {
            if (t < region.from! || t > region.to!) return null;
            const box = regionBoxAt(region, t);
            return <div key={`candidate-${i}`} class="region-box ellipse candidate" aria-hidden="true" style={{ left: `${box.x * 100}%`, top: `${box.y * 100}%`, width: `${box.w * 100}%`, height: `${box.h * 100}%` }} />;
          })}
          {drag?.mode === "draw" && (
            <div class={`region-box ${shape} drawing`} style={{ left: `${drag.box.x * 100}%`, top: `${drag.box.y * 100}%`, width: `${drag.box.w * 100}%`, height: `${drag.box.h * 100}%` }} />
          )}
        </div>
      </div>

      <div class="player-controls" role="group" aria-label="Redaction player controls">
        <button type="button" class="small" onClick={() => (video.current?.paused ? void video.current.play() : video.current?.pause())}>
          Play / pause
        </button>
        <button type="button" class="small" aria-label="Previous frame" onClick={() => step(-1)}>
          ◂ Frame
        </button>
        <button type="button" class="small" aria-label="Next frame" onClick={() => step(1)}>
          Frame ▸
        </button>
        <label class="redact-scrub">
          <span>
            Playhead <span class="redact-time">{clock(t)}</span> / {clock(duration)}
          </span>
          <input type="range" min={0} max={duration || 0} step={frame} value={t} onInput={(e) => seek(Number((e.target as HTMLInputElement).value))} />
        </label>
        <label class="redact-check">
          <input type="checkbox" checked={showPreview} onChange={(e) => setShowPreview((e.target as HTMLInputElement).checked)} /> Preview the effects
        </label>
      </div>

      <fieldset class="redact-new" disabled={!!job}>
        <legend>New region</legend>
        <label>
          Shape{" "}
          <select value={shape} onChange={(e) => setShape((e.target as HTMLSelectElement).value as Shape)}>
            {Object.entries(SHAPES).map(([value, text]) => (
              <option key={value} value={value}>
                {text}
              </option>
            ))}
          </select>
        </label>
        <label>
          Effect{" "}
          <select value={effect} onChange={(e) => setEffect((e.target as HTMLSelectElement).value as Effect)}>
            {Object.entries(EFFECTS).map(([value, text]) => (
              <option key={value} value={value}>
                {text}
              </option>
            ))}
          </select>
        </label>
        <button
          type="button"
          class="small"
          onClick={() => {
            const region = newRegion(shape, effect, t, { x: 0.4, y: 0.4, w: 0.2, h: 0.2 }, edit.trim?.to ?? (duration || t));
            change({ ...edit, regions: [...edit.regions, region] });
            setSelected(edit.regions.length);
            setStatus(`Region ${edit.regions.length + 1} marked at ${clock(t)}: focus it to move it with the arrow keys.`);
          }}
        >
          Add region
        </button>
        <p class="hint">Pause and drag on the frame to mark a region from the playhead on. At another time, drag the region (or its corner to resize it): that adds a key, and it moves smoothly between keys.</p>
      </fieldset>

      {edit.regions.length > 0 && (
        <ul class="redact-list" aria-label="Regions">
          {edit.regions.map((region, i) => {
            const keyHere = region.keys.some((k) => k.t === ms(t));
            return (
              <li key={i} class={i === selected ? "selected" : ""}>
                <span>
                  Region {i + 1}: {EFFECTS[region.effect].toLowerCase()} {SHAPES[region.shape].toLowerCase()}, {clock(region.from ?? 0)} to {clock(region.to ?? duration)}, {region.keys.length} {region.keys.length === 1 ? "key" : "keys"}
                </span>
                <span class="redact-actions">
                  <label>
                    <span class="visually-hidden">Effect of region {i + 1}</span>
                    <select value={region.effect} disabled={!!job} onChange={(e) => updateRegion(i, (r) => ({ ...r, effect: (e.target as HTMLSelectElement).value as Effect }))}>
                      {Object.entries(EFFECTS).map(([value, text]) => (
                        <option key={value} value={value}>
                          {text}
                        </option>
                      ))}
                    </select>
                  </label>
                  <button type="button" class="small" disabled={!!job} aria-label={`Starts here: region ${i + 1}`} onClick={() => updateRegion(i, (r) => ({ ...r, from: Math.min(ms(t), r.to ?? ms(t)) }))}>
                    Starts here
                  </button>
                  <button type="button" class="small" disabled={!!job} aria-label={`Ends here: region ${i + 1}`} onClick={() => updateRegion(i, (r) => ({ ...r, to: Math.max(ms(t), r.from ?? 0) }))}>
                    Ends here
                  </button>
                  {keyHere && region.keys.length > 1 && (
                    <button type="button" class="small" disabled={!!job} aria-label={`Remove key here: region ${i + 1} at ${clock(t)}`} onClick={() => updateRegion(i, (r) => removeKeyAt(r, t))}>
                      Remove key here
                    </button>
                  )}
                  <button
                    type="button"
                    class="small"
                    disabled={!!job}
                    aria-label={`Remove region ${i + 1}`}
                    onClick={() => {
                      change({ ...edit, regions: edit.regions.filter((_, j) => j !== i) });
                      setSelected(undefined);
                      setStatus(`Region ${i + 1} removed.`);
                    }}
                  >
                    Remove
                  </button>
                </span>
              </li>
            );
          })}
        </ul>
      )}

      <div class="redact-auto" role="group" aria-label="Automatic help">
        {selected !== undefined && edit.regions[selected] && (
          <div>
            <p class="hint">
              Region {selected + 1} selected: "Track this region" follows it from the playhead ({clock(t)}) to its end and replaces its keys after the playhead. Place it on the object first.
            </p>
            <TrackRegion options={trackOptions} onKeys={onTracked} label="Track this region" disabled={!!job || !!drag || !(Math.min(edit.regions[selected].to ?? duration, duration || Infinity) > t)} />
          </div>
        )}
        <FindFaces
          source={() => {
            video.current!.pause();
            return video.current!;
          }} onAccept={addFaces} disabled={!!job || !video.current || video.current.readyState < 2} />
        <FacesInVideo
          url={props.url}
          trimmed={!!edit.trim}
          range={() => {
            video.current?.pause();
            if (!(duration > 0)) return null;
            return { from: edit.trim?.from ?? 0, to: Math.min(edit.trim?.to ?? duration, duration) };
          }}
          onPreview={setCandidates}
          onAccept={addFaceTracks}
          onShow={seek}
          disabled={!!job || !(duration > 0)}
        />
      </div>

      <form class="redact-audio" aria-label="Add an audio range" onSubmit={addAudio} noValidate>
        <fieldset disabled={!!job}>
          <legend>Audio</legend>
          <div class="clip-points">
            <label>
              Audio range start (seconds)
              <input type="number" min={0} step="0.01" inputMode="decimal" value={audioFrom} onInput={(e) => setAudioFrom((e.target as HTMLInputElement).value)} />
            </label>
            <button type="button" class="small" aria-label="Start here: audio range start" onClick={() => setAudioFrom(String(ms(t)))}>
              Start here
            </button>
            <label>
              Audio range end (seconds)
              <input type="number" min={0} step="0.01" inputMode="decimal" value={audioTo} onInput={(e) => setAudioTo((e.target as HTMLInputElement).value)} />
            </label>
            <button type="button" class="small" aria-label="End here: audio range end" onClick={() => setAudioTo(String(ms(t)))}>
              End here
            </button>
          </div>
          <label>
            Audio effect{" "}
            <select value={audioEffect} onChange={(e) => setAudioEffect((e.target as HTMLSelectElement).value as AudioRange["effect"])}>
              {Object.entries(AUDIO).map(([value, text]) => (
                <option key={value} value={value}>
                  {text}
                </option>
              ))}
            </select>
          </label>{" "}
          <button type="submit" class="small">
            Add audio range
          </button>
        </fieldset>
      </form>
      {edit.audio.length > 0 && (
        <ul class="redact-list" aria-label="Audio ranges">
          {edit.audio.map((range, i) => (
            <li key={`${range.from}-${i}`}>
              <span>
                {AUDIO[range.effect]} {clock(range.from)} to {clock(range.to)}
              </span>{" "}
              <button type="button" class="small" disabled={!!job} aria-label={`Remove audio range ${clock(range.from)} to ${clock(range.to)}`} onClick={() => change({ ...edit, audio: edit.audio.filter((_, j) => j !== i) })}>
                Remove
              </button>
            </li>
          ))}
        </ul>
      )}

      <fieldset class="redact-trim" disabled={!!job}>
        <legend>Trim</legend>
        <p>{edit.trim ? `The copy keeps ${clock(edit.trim.from)} to ${clock(edit.trim.to)} of the original.` : "The copy keeps the whole video."}</p>
        <button type="button" class="small" onClick={() => setTrim("from")}>
          Trim start here
        </button>{" "}
        <button type="button" class="small" onClick={() => setTrim("to")}>
          Trim end here
        </button>{" "}
        {edit.trim && (
          <button
            type="button"
            class="small"
            onClick={() => {
              const { trim: _, ...rest } = edit;
              change(rest);
            }}
          >
            Keep the whole video
          </button>
        )}
      </fieldset>

      <div class="redact-make">
        {job ? (
          <button type="button" onClick={() => job.cancel()}>
            Cancel the copy
          </button>
        ) : (
          <button type="button" onClick={() => void makeCopy()}>
            Make redacted copy
          </button>
        )}
      </div>
      {progress && <ProgressBar label="Making the redacted copy" value={percent} text={progressText} />}
      {made && (
        <p role="status">
          Redacted copy added to the case: <a href={caseHref(props.caseDetail.id, made.id)}>{made.name}</a> ({made.note}). It is encrypted and uploaded in the background.
        </p>
      )}
      <p role="status" class="muted">
        {status}
      </p>
      {error && (
        <p role="alert" class="alert">
          {error}
        </p>
      )}
    </section>
  );
}

/** The "Redact this video" action of a video item's page: opens the editor, at once when this device keeps an edit of it. */
export function RedactAction(props: RedactorProps) {
  const [open, setOpen] = useState(false);
  useEffect(() => {
    let live = true;
    void db.videoRedactions.get(props.evidenceId).then((row) => live && row?.userId === props.userId && setOpen(true));
    return () => {
      live = false;
    };
  }, [props.evidenceId, props.userId]);
  return (
    <div class="redact-action">
      <button type="button" aria-expanded={open} onClick={() => setOpen(!open)}>
        {open ? "Close the redaction editor" : "Redact this video"}
      </button>
      {open && <VideoRedactor {...props} />}
    </div>
  );
}
