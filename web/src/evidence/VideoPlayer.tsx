/**
 * The video player of an opened item: the browser's own controls, plus speeds from 0.25× to 4×,
 * frame step (one frame back or forward, at the track's frame rate, or 1/30 s when unknown), jumps
 * of 5 and 10 s, the recorded time as an overlay (the capture or footage start time from the signed
 * metadata plus the position, with its time zone), markers with notes (kept in the item's
 * versioned, encrypted details) and clip export (a new item of the same case, derived from this
 * one: clip.ts) and the redaction editor (a redacted copy, web/src/redaction/video/). Every control is a labelled button or field; with the focus in the player,
 * keys step too (",", "." frames; "j", "l" 10 s; "[", "]" speed).
 */
import { useEffect, useRef, useState } from "preact/hooks";
import type { CaseDetail } from "../../../shared/api/cases";
import type { EvidenceMetadata, Manifest } from "../../../shared/crypto/index";
import { RedactAction } from "../redaction/video/VideoRedactor";
import { ApiError } from "../api/client";
import { evidenceApi } from "../cases/api";
import type { DeviceKeys } from "../keys/store";
import { addFiles } from "../upload/queue";
import { caseHref } from "../ui/router";
import { ProgressBar } from "../ui/progress";
import { messageOf } from "../ui/messages";
import { cutClip, frameRateOf } from "./clip";
import "./player.css";
import { followPlayhead } from "../ui/playhead";
import { decryptDetails, encryptDetails, MAX_MARKERS, type EvidenceDetails, type Marker } from "./details";

export const SPEEDS = [0.25, 0.5, 0.75, 1, 1.25, 1.5, 2, 3, 4] as const;
/** Used for frame step when the video's frame rate cannot be read. */
const FALLBACK_FPS = 30;
const JUMPS = [-10, -5, 5, 10] as const;

/** 65.25 → "1:05.25": minutes, seconds and hundredths of the media position. */
export function formatPosition(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "0:00.00";
  const m = Math.floor(seconds / 60);
  const s = seconds - m * 60;
  return `${m}:${s.toFixed(2).padStart(5, "0")}`;
}

/** When the first frame was recorded, and where that time comes from; undefined if the metadata has none. */
export function recordedStart(metadata: EvidenceMetadata): { start: Date; source: string } | undefined {
  const footage = metadata.camera?.["footageStart"];
  const iso = metadata.capturedAt ?? (typeof footage === "string" ? footage : undefined);
  if (!iso) return undefined;
  const start = new Date(iso);
  if (Number.isNaN(start.getTime())) return undefined;
  const how = metadata.device?.["captureTimeSource"];
  const source = metadata.camera ? "the camera's recording" : how === "mp4" ? "the video's own header" : how === "clip" ? "the original's recording" : "the capture time";
  return { start, source };
}

const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
const clock = new Intl.DateTimeFormat(undefined, {
  year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit", fractionalSecondDigits: 1, timeZoneName: "short",
} as Intl.DateTimeFormatOptions);

/** The latest version of the item's details (version 0 and empty details when there is none yet). */
async function latestDetails(evidenceId: string, fileKey: CryptoKey): Promise<{ version: number; details: EvidenceDetails }> {
  const { versions } = await evidenceApi.detailsVersions(evidenceId);
  const latest = versions.reduce<(typeof versions)[number] | undefined>((a, b) => (!a || b.version > a.version ? b : a), undefined);
  if (!latest) return { version: 0, details: { title: "", description: "", tags: [] } };
  try {
    return { version: latest.version, details: await decryptDetails(latest.jwe, fileKey) };
  } catch {
    throw new Error("the latest details could not be decrypted with this file's key, so no marker can be saved over them");
  }
}

export function VideoPlayer(props: {
  url: string;
  evidenceId: string;
  metadata: EvidenceMetadata;
  manifest: Manifest;
  fileKey: CryptoKey;
  canEdit: boolean;
  caseDetail: CaseDetail | undefined;
  userId: string;
  keys: DeviceKeys;
  /** Details changed here (markers): the details section reloads. */
  onDetailsChanged: () => void;
  /** Bumped when the details change elsewhere on the page. */
  detailsRev: number;
  /** The first frame's bytes are in: the markers load now, not while the first part downloads. */
  settled: boolean;
}) {
  const video = useRef<HTMLVideoElement>(null);
  const [position, setPosition] = useState(0);
  const [duration, setDuration] = useState(0);
  const [speed, setSpeed] = useState(1);
  const [fps, setFps] = useState<number>();
  const recorded = recordedStart(props.metadata);

  useEffect(() => {
    const element = video.current;
    if (!element) return;
    let live = true;
    // Only frame stepping needs the frame rate: read (loading mediabunny, reading the sample table
    // through the same view) once the first frame is in, so it never holds up the player's first bytes.
    const read = () => void frameRateOf(props.url).then((rate) => live && setFps(rate), () => undefined);
    if (element.readyState >= HTMLMediaElement.HAVE_CURRENT_DATA) read();
    else element.addEventListener("loadeddata", read, { once: true });
    return () => {
      live = false;
      element.removeEventListener("loadeddata", read);
    };
  }, [props.url]);

  useEffect(() => {
    const element = video.current;
    if (!element) return;
    return followPlayhead(element, { position: setPosition, duration: setDuration, rate: setSpeed });
  }, [props.url]);

  const frame = 1 / (fps ?? FALLBACK_FPS);
  function seek(to: number) {
    const element = video.current;
    if (!element) return;
    const end = Number.isFinite(element.duration) ? element.duration : to;
    element.currentTime = Math.min(Math.max(0, to), end);
    setPosition(element.currentTime);
  }
  function step(frames: number) {
    const element = video.current;
    if (!element) return;
    element.pause();
    // To the middle of the frame, so rounding never lands on the frame before or after.
    const index = Math.max(0, Math.floor(element.currentTime / frame + 1e-6) + frames);
    seek((index + 0.5) * frame);
  }
  function changeSpeed(value: number) {
    if (video.current) video.current.playbackRate = value;
    setSpeed(value);
  }
  function onKeyDown(event: KeyboardEvent) {
    const target = event.target as HTMLElement;
    if (target.closest("input, textarea, select") || event.ctrlKey || event.metaKey || event.altKey) return;
    const at = video.current?.currentTime ?? 0;
    const speedIndex = SPEEDS.indexOf(speed as (typeof SPEEDS)[number]);
    const handled: Record<string, () => void> = {
      ",": () => step(-1),
      ".": () => step(1),
      j: () => seek(at - 10),
      l: () => seek(at + 10),
      "[": () => speedIndex > 0 && changeSpeed(SPEEDS[speedIndex - 1]!),
      "]": () => speedIndex >= 0 && speedIndex < SPEEDS.length - 1 && changeSpeed(SPEEDS[speedIndex + 1]!),
    };
    const action = handled[event.key];
    if (!action) return;
    event.preventDefault();
    action();
  }

  const recordedAt = recorded ? new Date(recorded.start.getTime() + position * 1000) : undefined;
  return (
    <div class="video-player" onKeyDown={onKeyDown}>
      <div class="player-frame">
        <video ref={video} src={props.url} controls playsInline preload="metadata" aria-label={props.metadata.fileName} aria-describedby="recorded-time" />
        <p class="recorded-overlay" id="recorded-time">
          {recordedAt ? (
            <>
              <span class="visually-hidden">Recorded at </span>
              <time dateTime={recordedAt.toISOString()}>{clock.format(recordedAt)}</time>
            </>
          ) : (
            <span>Recorded time unknown</span>
          )}
        </p>
      </div>
      <p class="hint">
        {recorded ? `Recorded time: the start time from ${recorded.source} plus the position, shown in this device's time zone (${zone}).` : "The file carries no recording time: only the position is shown."}
      </p>
      <div class="player-controls" role="group" aria-label="Player controls">
        <span class="player-position">
          <span class="visually-hidden">Position </span>
          {formatPosition(position)} / {formatPosition(duration)}
        </span>
        <label class="player-speed">
          Speed{" "}
          <select value={String(speed)} onChange={(e) => changeSpeed(Number((e.target as HTMLSelectElement).value))}>
            {SPEEDS.map((s) => (
              <option key={s} value={String(s)}>
                {s}×
              </option>
            ))}
          </select>
        </label>
        <button type="button" class="small" aria-label="Previous frame" onClick={() => step(-1)}>
          ◂ Frame
        </button>
        <button type="button" class="small" aria-label="Next frame" onClick={() => step(1)}>
          Frame ▸
        </button>
        {JUMPS.map((j) => (
          <button key={j} type="button" class="small" onClick={() => seek((video.current?.currentTime ?? 0) + j)}>
            <span aria-hidden="true">{j < 0 ? `−${-j} s` : `+${j} s`}</span>
            <span class="visually-hidden">{j < 0 ? `Back ${-j} seconds` : `Forward ${j} seconds`}</span>
          </button>
        ))}
      </div>
      <p class="hint">
        Frame step: {fps ? `${Math.round(fps * 100) / 100} frames per second` : `1/${FALLBACK_FPS} s (frame rate unknown)`}. Keys: “,” “.” a frame, “j” “l” 10 s, “[” “]” speed.
      </p>
      {props.settled && <Markers evidenceId={props.evidenceId} fileKey={props.fileKey} canEdit={props.canEdit} position={position} onJump={seek} onChanged={props.onDetailsChanged} rev={props.detailsRev} />}
      {props.canEdit && props.caseDetail && (
        <ClipExport
          url={props.url}
          evidenceId={props.evidenceId}
          manifest={props.manifest}
          metadata={props.metadata}
          position={position}
          duration={duration}
          caseDetail={props.caseDetail}
          userId={props.userId}
          keys={props.keys}
        />
      )}
      {props.canEdit && props.caseDetail && (
        <RedactAction
          url={props.url}
          evidenceId={props.evidenceId}
          sha512={props.manifest.sha512}
          fileName={props.metadata.fileName}
          recordedStart={recorded?.start}
          fps={fps}
          caseDetail={props.caseDetail}
          userId={props.userId}
          keys={props.keys}
        />
      )}
    </div>
  );
}

function Markers(props: { evidenceId: string; fileKey: CryptoKey; canEdit: boolean; position: number; onJump: (t: number) => void; onChanged: () => void; rev: number }) {
  const [markers, setMarkers] = useState<Marker[]>();
  const [note, setNote] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const [status, setStatus] = useState("");

  async function load() {
    try {
      setMarkers((await latestDetails(props.evidenceId, props.fileKey)).details.markers ?? []);
    } catch (caught) {
      setError(`Couldn't load the markers: ${messageOf(caught)}`);
    }
  }
  useEffect(() => void load(), [props.evidenceId, props.rev]);

  /** Applies `change` to the latest saved markers and saves a new details version (title, description and tags unchanged). */
  async function save(change: (list: Marker[]) => Marker[], done: string) {
    setBusy(true);
    setError(undefined);
    setStatus("");
    try {
      const latest = await latestDetails(props.evidenceId, props.fileKey);
      const list = change(latest.details.markers ?? []).sort((a, b) => a.t - b.t);
      if (list.length > MAX_MARKERS) throw new Error(`at most ${MAX_MARKERS} markers per item`);
      const jwe = await encryptDetails({ ...latest.details, markers: list }, props.fileKey);
      await evidenceApi.updateDetails(props.evidenceId, jwe, latest.version);
      setMarkers(list);
      setStatus(done);
      props.onChanged();
      return true;
    } catch (caught) {
      setError(caught instanceof ApiError && caught.status === 409 ? "Someone changed the details meanwhile. Try again: your marker is added to their version." : `Couldn't save the marker: ${messageOf(caught)}`);
      return false;
    } finally {
      setBusy(false);
    }
  }

  async function add(event: Event) {
    event.preventDefault();
    const text = note.trim();
    if (!text) return setError("Write a note for the marker.");
    if (text.length > 140) return setError("A marker's note is at most 140 characters.");
    const t = Math.round(props.position * 1000) / 1000;
    if (await save((list) => [...list, { t, note: text }], `Marker added at ${formatPosition(t)}.`)) setNote("");
  }

  return (
    <section aria-labelledby="markers-heading" class="markers">
      <h3 id="markers-heading">Markers</h3>
      {markers && markers.length === 0 && <p class="muted">No markers yet.</p>}
      {markers && markers.length > 0 && (
        <ul aria-label="Markers" class="marker-list">
          {markers.map((m, i) => (
            <li key={`${m.t}-${i}`}>
              <button type="button" class="small" aria-label={`Jump to ${formatPosition(m.t)}: ${m.note}`} onClick={() => props.onJump(m.t)}>
                {formatPosition(m.t)}
              </button>{" "}
              <span>{m.note}</span>{" "}
              {props.canEdit && (
                <button type="button" class="small" disabled={busy} aria-label={`Remove marker at ${formatPosition(m.t)}`} onClick={() => void save((list) => list.filter((x) => !(x.t === m.t && x.note === m.note)), "Marker removed.")}>
                  Remove
                </button>
              )}
            </li>
          ))}
        </ul>
      )}
      {props.canEdit && (
        <form class="marker-form" aria-label="Add a marker" onSubmit={(e) => void add(e)} noValidate>
          <label>
            Marker note (at {formatPosition(props.position)})
            <input type="text" name="note" maxLength={140} value={note} onInput={(e) => setNote((e.target as HTMLInputElement).value)} />
          </label>
          <button type="submit" disabled={busy}>
            {busy ? "Saving…" : "Add marker"}
          </button>
          <p class="hint">Markers are saved as a new version of the item's details, encrypted on this device.</p>
        </form>
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

function ClipExport(props: { url: string; evidenceId: string; manifest: Manifest; metadata: EvidenceMetadata; position: number; duration: number; caseDetail: CaseDetail; userId: string; keys: DeviceKeys }) {
  const [from, setFrom] = useState("");
  const [to, setTo] = useState("");
  const [progress, setProgress] = useState<number>();
  const [error, setError] = useState<string>();
  const [made, setMade] = useState<{ id: string; name: string }>();

  const round = (t: number) => String(Math.round(t * 100) / 100);

  async function exportClip(event: Event) {
    event.preventDefault();
    setError(undefined);
    setMade(undefined);
    const start = Number(from);
    const end = Number(to);
    if (from.trim() === "" || to.trim() === "" || !Number.isFinite(start) || !Number.isFinite(end)) return setError("Set the clip's start and end (seconds).");
    if (start < 0 || end <= start) return setError("The clip's end must be after its start.");
    if (props.duration > 0 && start >= props.duration) return setError(`The clip must start before the end of the video (${formatPosition(props.duration)}).`);
    setProgress(0);
    try {
      const clip = await cutClip(
        { url: props.url, evidenceId: props.evidenceId, sha512: props.manifest.sha512, fileName: props.metadata.fileName, mediaType: props.metadata.mediaType },
        start,
        Math.min(end, props.duration > 0 ? props.duration : end),
        (fraction) => setProgress(Math.floor(fraction * 100)),
      );
      // The clip's first shown frame is the original's at `start` (earlier key-frame material is cut by an edit list).
      const recorded = recordedStart(props.metadata);
      const capture = recorded ? { capturedAt: new Date(recorded.start.getTime() + Math.round(start * 1000)).toISOString(), device: { captureTimeSource: "clip" } } : undefined;
      const [id] = await addFiles([clip.file], { userId: props.userId, caseDetail: props.caseDetail, keys: props.keys, derivedFrom: clip.derivedFrom, ...(capture ? { capture } : {}) });
      setMade({ id: id!, name: clip.file.name });
    } catch (caught) {
      setError(`Couldn't export the clip: ${messageOf(caught)}`);
    } finally {
      setProgress(undefined);
    }
  }

  return (
    <section aria-labelledby="clip-heading" class="clip-export">
      <h3 id="clip-heading">Export a clip</h3>
      <p class="hint">The clip becomes a new item of this case, encrypted under its own key, that names this original and its SHA-512. The original stays as it is. It is cut on key frames without re-encoding, so it may start a little before the chosen start.</p>
      <form aria-label="Export a clip" onSubmit={(e) => void exportClip(e)} noValidate>
        <div class="clip-points">
          <label>
            Clip start (seconds)
            <input type="number" name="from" min={0} step="0.01" inputMode="decimal" value={from} onInput={(e) => setFrom((e.target as HTMLInputElement).value)} />
          </label>
          <button type="button" class="small" onClick={() => setFrom(round(props.position))}>
            Start here
          </button>
          <label>
            Clip end (seconds)
            <input type="number" name="to" min={0} step="0.01" inputMode="decimal" value={to} onInput={(e) => setTo((e.target as HTMLInputElement).value)} />
          </label>
          <button type="button" class="small" onClick={() => setTo(round(props.position))}>
            End here
          </button>
        </div>
        <button type="submit" disabled={progress !== undefined}>
          {progress !== undefined ? "Cutting…" : "Export clip"}
        </button>
      </form>
      {progress !== undefined && <ProgressBar label="Cutting the clip" value={progress} text={`Cutting the clip… ${progress} %`} />}
      {made && (
        <p role="status">
          Clip added to the case: <a href={caseHref(props.caseDetail.id, made.id)}>{made.name}</a>. It is encrypted and uploaded in the background.
        </p>
      )}
      {error && (
        <p role="alert" class="alert">
          {error}
        </p>
      )}
    </section>
  );
}
