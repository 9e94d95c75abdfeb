/**
 * The redaction editor of a photo or a PDF (docs/redaction.md), opened from the item's page by a
 * member who may add evidence. Regions (rectangles or ellipses, hidden by blur, pixelate or a
 * solid fill) are drawn on the picture with the pointer (drag on an empty place to draw, drag a
 * region to move it) or added with "Add a region" and placed with the number fields or the arrow
 * keys (Shift resizes). The preview shows each effect as the copy will have it: both are drawn by
 * drawRedactions. "Make redacted copy" writes the copy here (copy.ts) and adds it to the case as a
 * new item, encrypted under a new file key with `derivedFrom` in its signed manifest; the original
 * is never changed.
 */
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import type { ComponentChildren, TargetedEvent } from "preact";
import type { CaseDetail } from "../../../shared/api/cases";
import type { DeviceKeys } from "../keys/store";
import { readOpenedFile } from "../evidence/opened-file";
import { addFiles } from "../upload/queue";
import { formatDuration } from "../ui/format";
import { ProgressBar } from "../ui/progress";
import { caseHref } from "../ui/router";
import { Cancelled, clampBox, decodePhoto, DOCUMENT_DPI, makeDocumentCopy, makePhotoCopy, toOperation, type Copy, type Region, type Source } from "./copy";
import { releaseFaceDetector, type Detection } from "./detect";
import { drawPage, openPdf, pageSize, type OpenedPdf } from "./document";
import { FindFaces } from "./FindFaces";
import { drawRedactions, EFFECT_NAMES, faceMargin, SHAPE_NAMES, type Box } from "./regions";
import "./redaction.css";

/** Whether an item of this type can be redacted here (videos have their own editor). */
export function canRedact(mediaType: string): boolean {
  return (mediaType.startsWith("image/") && mediaType !== "image/svg+xml") || mediaType === "application/pdf";
}

interface RedactorProps {
  source: Source;
  /** The item's per-view URL (each part checked against the signed manifest before a byte is read). */
  url: string;
  /** The original's capture time, carried to the copy (the copy shows the same moment). */
  capturedAt?: string | undefined;
  caseDetail: CaseDetail;
  userId: string;
  keys: DeviceKeys;
  onClose: () => void;
}

export function Redactor(props: RedactorProps) {
  return (
    <section class="redactor" aria-labelledby="redactor-heading">
      <div class="redactor-head">
        <h2 id="redactor-heading">Redact</h2>
        <button type="button" class="small" onClick={props.onClose}>
          Close editor
        </button>
      </div>
      <p class="hint">
        Mark what to hide. The copy is a new item of this case, encrypted under its own key, that names this original by its SHA-512 and lists every region. The original stays as it is, and only the copy can be shared without it.
      </p>
      {props.source.mediaType === "application/pdf" ? <DocumentRedactor {...props} /> : <PhotoRedactor {...props} />}
    </section>
  );
}

type Made = { id: string; name: string };

/** Adds the copy to the case (encrypted, signed and uploaded in the background by the upload queue). */
async function addCopy(props: RedactorProps, copy: Copy): Promise<Made> {
  const capture = props.capturedAt ? { capture: { capturedAt: props.capturedAt, device: { captureTimeSource: "redaction" } } } : {};
  const [id] = await addFiles([copy.file], { userId: props.userId, caseDetail: props.caseDetail, keys: props.keys, derivedFrom: copy.derivedFrom, ...capture });
  return { id: id!, name: copy.file.name };
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function MadeNote(props: { made: Made; caseId: string }) {
  return (
    <p role="status" class="saved-note">
      Redacted copy added to the case: <a href={caseHref(props.caseId, props.made.id)}>{props.made.name}</a>. It is encrypted and uploaded in the background.
    </p>
  );
}

// ---- Photo

function PhotoRedactor(props: RedactorProps) {
  const [image, setImage] = useState<ImageBitmap>();
  const [error, setError] = useState<string>();
  const [regions, setRegions] = useState<Region[]>([]);
  const [step, setStep] = useState<"drawing" | "encoding" | "adding">();
  const [made, setMade] = useState<Made>();
  /** The faces ticked while the person chooses which found faces to add (outlined on the preview). */
  const [candidates, setCandidates] = useState<Box[]>([]);

  // The face finder's Worker and model are let go when the editor closes.
  useEffect(() => () => releaseFaceDetector(), []);

  useEffect(() => {
    let closed = false;
    let decoded: ImageBitmap | undefined;
    decodePhoto(props.url).then(
      (bitmap) => {
        decoded = bitmap;
        if (closed) bitmap.close();
        else setImage(bitmap);
      },
      (caught) => !closed && setError(errorText(caught)),
    );
    return () => {
      closed = true;
      decoded?.close();
    };
  }, [props.url]);

  /** The photo at preview size (at most 1600 px on its longer side): regions are kept in fractions, so they apply alike at full size. */
  const preview = useMemo(() => (image ? scaled(image, 1600) : undefined), [image]);

  async function make() {
    if (!image) return;
    setError(undefined);
    setMade(undefined);
    try {
      const copy = await makePhotoCopy(props.source, image, regions, setStep);
      setStep("adding");
      setMade(await addCopy(props, copy));
    } catch (caught) {
      setError(`Couldn't make the redacted copy: ${errorText(caught)}`);
    } finally {
      setStep(undefined);
    }
  }

  if (!image || !preview) {
    return error ? (
      <p role="alert" class="alert">
        {error}
      </p>
    ) : (
      <p aria-busy="true">Decoding the photo…</p>
    );
  }
  const stepText = { drawing: "Drawing the photo at full size with the regions hidden…", encoding: "Encoding the copy…", adding: "Adding the copy to the case…" };
  return (
    <>
      <RegionEditor
        picture={preview}
        frame={{ width: image.width, height: image.height, unit: "px", what: "photo", title: "The photo" }}
        regions={regions}
        setRegions={setRegions}
        defaultEffect="blur"
        busy={step !== undefined}
        candidates={candidates}
      >
        <FindFaces
          source={() => preview}
          disabled={step !== undefined}
          onPreview={(faces) => setCandidates(faces.map((face) => faceBox(face.box)))}
          onAccept={(faces) => setRegions((all) => [...all, ...faces.map(faceRegion)])}
        />
      </RegionEditor>
      <div class="actions">
        <button type="button" class="primary" disabled={step !== undefined || regions.length === 0} onClick={() => void make()}>
          {step ? "Making the copy…" : "Make redacted copy"}
        </button>
      </div>
      {step && (
        <p role="status" aria-busy="true">
          {stepText[step]}
        </p>
      )}
      {made && <MadeNote made={made} caseId={props.caseDetail.id} />}
      {error && (
        <p role="alert" class="alert">
          {error}
        </p>
      )}
    </>
  );
}

/** A found face's box with its margin (regions.ts `faceMargin`), kept inside the frame. */
export function faceBox(box: Box): Box {
  return clampBox(faceMargin(box));
}

/** A found face as a region like a hand-drawn one: an ellipse over its widened box, blurred. */
function faceRegion(face: Detection): Region {
  return { id: nextId++, shape: "ellipse", effect: "blur", box: faceBox(face.box) };
}

/** A canvas of `image` scaled down to at most `max` px on its longer side. */
function scaled(image: ImageBitmap, max: number): HTMLCanvasElement {
  const factor = Math.min(1, max / Math.max(image.width, image.height));
  const canvas = document.createElement("canvas");
  canvas.width = Math.max(1, Math.round(image.width * factor));
  canvas.height = Math.max(1, Math.round(image.height * factor));
  const context = canvas.getContext("2d")!;
  context.imageSmoothingQuality = "high";
  context.drawImage(image, 0, 0, canvas.width, canvas.height);
  return canvas;
}

// ---- Document

/** Preview pages are drawn about this wide (pixels). */
const PREVIEW_WIDTH = 1000;

function DocumentRedactor(props: RedactorProps) {
  const [doc, setDoc] = useState<OpenedPdf>();
  const [error, setError] = useState<string>();
  const [page, setPage] = useState(1);
  const [picture, setPicture] = useState<{ page: number; canvas: HTMLCanvasElement; width: number; height: number }>();
  const [regions, setRegions] = useState<Region[]>([]);
  const [progress, setProgress] = useState<{ done: number; total: number; started: number }>();
  const [made, setMade] = useState<Made>();
  const abort = useRef<AbortController | undefined>(undefined);

  useEffect(() => {
    let closed = false;
    let opened: OpenedPdf | undefined;
    void (async () => {
      try {
        opened = await openPdf(new Uint8Array(await (await readOpenedFile(props.url)).arrayBuffer()));
        if (closed) void opened.close();
        else setDoc(opened);
      } catch (caught) {
        if (!closed) setError(`This PDF can't be opened for redaction (${errorText(caught)}).`);
      }
    })();
    return () => {
      closed = true;
      abort.current?.abort();
      void opened?.close();
    };
  }, [props.url]);

  useEffect(() => {
    if (!doc) return;
    let stale = false;
    void (async () => {
      try {
        const size = await pageSize(doc.pdf, page);
        const canvas = document.createElement("canvas");
        await drawPage(doc.pdf, page, Math.min(3, PREVIEW_WIDTH / size.width), canvas);
        if (!stale) setPicture({ page, canvas, width: size.width, height: size.height });
      } catch (caught) {
        if (!stale) setError(`Page ${page} can't be drawn (${errorText(caught)}).`);
      }
    })();
    return () => {
      stale = true;
    };
  }, [doc, page]);

  async function make() {
    if (!doc) return;
    setError(undefined);
    setMade(undefined);
    const controller = (abort.current = new AbortController());
    const started = performance.now();
    setProgress({ done: 0, total: doc.pdf.numPages, started });
    try {
      const copy = await makeDocumentCopy(props.source, doc, regions, (done, total) => setProgress({ done, total, started }), controller.signal);
      setMade(await addCopy(props, copy));
    } catch (caught) {
      setError(caught instanceof Cancelled ? "Cancelled: no copy was made." : `Couldn't make the redacted copy: ${errorText(caught)}`);
    } finally {
      setProgress(undefined);
      abort.current = undefined;
    }
  }

  if (!doc) {
    return error ? (
      <p role="alert" class="alert">
        {error}
      </p>
    ) : (
      <p aria-busy="true">Opening the PDF…</p>
    );
  }
  const pages = doc.pdf.numPages;
  const pct = progress ? Math.floor((progress.done / progress.total) * 100) : 0;
  // What is left, at the pace of the pages redrawn so far.
  const left = progress && progress.done > 0 ? Math.ceil(((performance.now() - progress.started) / progress.done) * (progress.total - progress.done) / 1000) : undefined;
  return (
    <>
      <div class="viewer-tools" role="toolbar" aria-label="Pages to redact">
        <button type="button" class="small" disabled={page <= 1} onClick={() => setPage((p) => p - 1)}>
          Previous page
        </button>
        <span class="viewer-status" aria-live="polite">
          Page {page} of {pages}
        </span>
        <button type="button" class="small" disabled={page >= pages} onClick={() => setPage((p) => p + 1)}>
          Next page
        </button>
      </div>
      {picture && picture.page === page ? (
        <RegionEditor
          picture={picture.canvas}
          frame={{ width: picture.width, height: picture.height, unit: "pt", what: "page", title: `Page ${page}` }}
          page={page}
          onPage={setPage}
          regions={regions}
          setRegions={setRegions}
          defaultEffect="fill"
          busy={progress !== undefined}
        />
      ) : (
        <p aria-busy="true">Drawing page {page}…</p>
      )}
      <p class="hint">
        {regions.length === 0 ? "No boxes yet: a copy made now only redraws the pages. " : ""}Every page of the copy is redrawn as an image at {DOCUMENT_DPI} dpi: no text is left to select or copy, and nothing under a box survives.
      </p>
      <div class="actions">
        <button type="button" class="primary" disabled={progress !== undefined} onClick={() => void make()}>
          {progress ? "Making the copy…" : "Make redacted copy"}
        </button>
        {progress && (
          <button type="button" onClick={() => abort.current?.abort()}>
            Cancel
          </button>
        )}
      </div>
      {progress && <ProgressBar label="Redrawing pages" value={pct} text={`Redrawing pages… ${progress.done} of ${progress.total} (${pct} %)${left !== undefined && progress.done < progress.total ? `, about ${formatDuration(left)} left` : ""}`} />}
      {made && <MadeNote made={made} caseId={props.caseDetail.id} />}
      {error && (
        <p role="alert" class="alert">
          {error}
        </p>
      )}
    </>
  );
}

// ---- Regions: the canvas and the list

const SHAPES = Object.entries(SHAPE_NAMES).map(([value, label]) => ({ value: value as Region["shape"], label }));
const EFFECTS = Object.entries(EFFECT_NAMES).map(([value, label]) => ({ value: value as Region["effect"], label }));
/** A drag shorter than this fraction of the frame on both sides is a click, not a region. */
const MIN_DRAG = 0.01;
/** Arrow keys move (or, with Shift, resize) the selected region by this fraction of the frame. */
const KEY_STEP = 0.01;

interface Frame {
  /** The frame's size in `unit`s: the photo's pixels, or the page's points. */
  width: number;
  height: number;
  unit: "px" | "pt";
  /** What the picture is, in the hint ("photo", "page"). */
  what: string;
  /** Its name ("The photo", "Page 2"). */
  title: string;
}

type Drag = { kind: "draw"; from: { x: number; y: number }; box: Box } | { kind: "move"; id: number; from: { x: number; y: number }; start: Box };

let nextId = 1;

function RegionEditor(props: {
  picture: HTMLCanvasElement;
  frame: Frame;
  page?: number;
  onPage?: (page: number) => void;
  regions: Region[];
  setRegions: (update: (regions: Region[]) => Region[]) => void;
  defaultEffect: Region["effect"];
  busy: boolean;
  /** Boxes offered but not yet added (the faces ticked in the face finder), outlined dashed. */
  candidates?: Box[];
  /** More tools, shown under "Add a region" (the photo editor's face finder). */
  children?: ComponentChildren;
}) {
  const { picture, frame } = props;
  const [selected, setSelected] = useState<number>();
  const [drag, setDrag] = useState<Drag>();
  const canvasRef = useRef<HTMLCanvasElement>(null);
  const here = props.regions.filter((r) => r.page === props.page);

  // The preview: the picture, every region's effect as the copy will have it, then outlines.
  useEffect(() => {
    const canvas = canvasRef.current;
    if (!canvas) return;
    const { width, height } = picture;
    if (canvas.width !== width) canvas.width = width;
    if (canvas.height !== height) canvas.height = height;
    const context = canvas.getContext("2d")!;
    context.drawImage(picture, 0, 0);
    drawRedactions(context, here.map(toOperation), 0, width, height);
    const line = Math.max(2, Math.round(Math.max(width, height) / 400));
    for (const region of here) outline(context, region.shape, region.box, width, height, region.id === selected ? "#ffb000" : "#1d5fa0", line, region.id === selected);
    for (const box of props.candidates ?? []) outline(context, "ellipse", box, width, height, "#ffb000", line, true);
    if (drag?.kind === "draw") outline(context, "rect", drag.box, width, height, "#ffb000", line, true);
  }, [picture, props.regions, selected, drag, props.page, props.candidates]);

  const update = (id: number, change: (region: Region) => Region) => props.setRegions((all) => all.map((r) => (r.id === id ? change(r) : r)));
  const remove = (id: number) => {
    props.setRegions((all) => all.filter((r) => r.id !== id));
    if (selected === id) setSelected(undefined);
  };
  const add = (box: Box) => {
    const region: Region = { id: nextId++, shape: "rect", effect: props.defaultEffect, ...(props.page !== undefined ? { page: props.page } : {}), box: clampBox(box) };
    props.setRegions((all) => [...all, region]);
    setSelected(region.id);
  };

  /** The pointer's place on the picture, in fractions of the frame (0–1). */
  const pointAt = (event: PointerEvent) => {
    const rect = canvasRef.current!.getBoundingClientRect();
    return { x: clamp01((event.clientX - rect.left) / rect.width), y: clamp01((event.clientY - rect.top) / rect.height) };
  };
  const onPointerDown = (event: TargetedEvent<HTMLCanvasElement, PointerEvent>) => {
    if (props.busy || event.button !== 0) return;
    event.currentTarget.setPointerCapture(event.pointerId);
    const at = pointAt(event);
    // The topmost region under the pointer is moved; elsewhere a new one is drawn.
    const hit = [...here].reverse().find((r) => at.x >= r.box.x && at.x <= r.box.x + r.box.w && at.y >= r.box.y && at.y <= r.box.y + r.box.h);
    if (hit) {
      setSelected(hit.id);
      setDrag({ kind: "move", id: hit.id, from: at, start: hit.box });
    } else setDrag({ kind: "draw", from: at, box: { x: at.x, y: at.y, w: 0, h: 0 } });
  };
  const onPointerMove = (event: TargetedEvent<HTMLCanvasElement, PointerEvent>) => {
    if (!drag) return;
    const at = pointAt(event);
    if (drag.kind === "draw") {
      setDrag({ ...drag, box: { x: Math.min(at.x, drag.from.x), y: Math.min(at.y, drag.from.y), w: Math.abs(at.x - drag.from.x), h: Math.abs(at.y - drag.from.y) } });
    } else {
      const box = drag.start;
      update(drag.id, (r) => ({ ...r, box: clampBox({ ...box, x: box.x + at.x - drag.from.x, y: box.y + at.y - drag.from.y }) }));
    }
  };
  const onPointerUp = () => {
    if (drag?.kind === "draw" && (drag.box.w >= MIN_DRAG || drag.box.h >= MIN_DRAG)) add({ ...drag.box, w: Math.max(drag.box.w, MIN_DRAG), h: Math.max(drag.box.h, MIN_DRAG) });
    setDrag(undefined);
  };
  const onKeyDown = (event: TargetedEvent<HTMLDivElement, KeyboardEvent>) => {
    if (selected === undefined || props.busy) return;
    const moves: Record<string, [number, number]> = { ArrowLeft: [-KEY_STEP, 0], ArrowRight: [KEY_STEP, 0], ArrowUp: [0, -KEY_STEP], ArrowDown: [0, KEY_STEP] };
    const move = moves[event.key];
    if (move) {
      const [dx, dy] = move;
      update(selected, (r) => ({ ...r, box: event.shiftKey ? resized(r.box, dx, dy) : clampBox({ ...r.box, x: r.box.x + dx, y: r.box.y + dy }) }));
    } else if (event.key === "Delete" || event.key === "Backspace") remove(selected);
    else return;
    event.preventDefault();
  };

  const selectedIndex = props.regions.findIndex((r) => r.id === selected);
  const hintId = `redact-hint-${props.page ?? 0}`;
  return (
    <div class="region-editor">
      <div
        class="redact-frame"
        role="group"
        tabIndex={0}
        aria-label={`Redaction preview: ${frame.title.toLowerCase()}`}
        aria-describedby={hintId}
        onKeyDown={onKeyDown}
      >
        <canvas
          ref={canvasRef}
          role="img"
          aria-label={`${frame.title} with ${here.length} ${here.length === 1 ? "region" : "regions"} hidden${selectedIndex >= 0 ? `; region ${selectedIndex + 1} selected` : ""}`}
          onPointerDown={onPointerDown}
          onPointerMove={onPointerMove}
          onPointerUp={onPointerUp}
          onPointerCancel={() => setDrag(undefined)}
        />
      </div>
      <p id={hintId} class="hint">
        Drag on the {frame.what} to draw a region, or drag a region to move it. With the preview focused, the arrow keys move the selected region and Shift with an arrow key resizes it; Delete removes it.
      </p>
      <div class="actions">
        <button type="button" disabled={props.busy} onClick={() => add({ x: 0.4, y: 0.4, w: 0.2, h: 0.2 })}>
          Add a region
        </button>
      </div>
      {props.children}
      {props.regions.length > 0 && (
        <ol class="region-list" aria-label="Regions to hide">
          {props.regions.map((region, index) => (
            <RegionItem
              key={region.id}
              region={region}
              number={index + 1}
              frame={region.page === props.page ? frame : undefined}
              selected={region.id === selected}
              busy={props.busy}
              onSelect={() => {
                setSelected(region.id);
                if (region.page !== undefined && region.page !== props.page) props.onPage?.(region.page);
              }}
              onChange={(change) => update(region.id, change)}
              onRemove={() => remove(region.id)}
            />
          ))}
        </ol>
      )}
    </div>
  );
}

function RegionItem(props: {
  region: Region;
  number: number;
  /** The frame it lies on when shown (its page is the one drawn); undefined for a region on another page. */
  frame: Frame | undefined;
  selected: boolean;
  busy: boolean;
  onSelect: () => void;
  onChange: (change: (region: Region) => Region) => void;
  onRemove: () => void;
}) {
  const { region, frame } = props;
  const name = `Region ${props.number}`;
  const where = region.page !== undefined ? ` on page ${region.page}` : "";
  const field = (key: keyof Box, label: string, size: number | undefined) => (
    <label>
      {label} ({frame?.unit})
      <input
        type="number"
        inputMode="numeric"
        min={0}
        max={size}
        step={1}
        value={size === undefined ? "" : Math.round(region.box[key] * size)}
        disabled={props.busy}
        onInput={(event) => {
          const value = Number((event.target as HTMLInputElement).value);
          if (size === undefined || !Number.isFinite(value) || (event.target as HTMLInputElement).value === "") return;
          props.onChange((r) => ({ ...r, box: setSide(r.box, key, value / size) }));
        }}
      />
    </label>
  );
  return (
    <li class={props.selected ? "selected" : undefined} onFocusIn={props.onSelect}>
      <fieldset>
        <legend>
          {name}
          {where}
        </legend>
        <div class="region-fields">
          <label>
            Shape
            <select disabled={props.busy} onChange={(e) => props.onChange((r) => ({ ...r, shape: (e.target as HTMLSelectElement).value as Region["shape"] }))}>
              {SHAPES.map((s) => (
                <option key={s.value} value={s.value} selected={s.value === region.shape}>
                  {s.label}
                </option>
              ))}
            </select>
          </label>
          <label>
            Effect
            <select disabled={props.busy} onChange={(e) => props.onChange((r) => ({ ...r, effect: (e.target as HTMLSelectElement).value as Region["effect"] }))}>
              {EFFECTS.map((s) => (
                <option key={s.value} value={s.value} selected={s.value === region.effect}>
                  {s.label}
                </option>
              ))}
            </select>
          </label>
          {frame ? (
            <>
              {field("x", "Left", frame.width)}
              {field("y", "Top", frame.height)}
              {field("w", "Width", frame.width)}
              {field("h", "Height", frame.height)}
            </>
          ) : (
            <button type="button" class="small" onClick={props.onSelect}>
              Show page {region.page}
            </button>
          )}
          <button type="button" class="small" disabled={props.busy} onClick={props.onRemove} aria-label={`Remove ${name.toLowerCase()}`}>
            Remove
          </button>
        </div>
      </fieldset>
    </li>
  );
}

const clamp01 = (value: number) => Math.min(1, Math.max(0, value));

/** The box with one side set (a fraction of the frame), kept inside the frame without moving the others. */
function setSide(box: Box, key: keyof Box, value: number): Box {
  switch (key) {
    case "x":
      return { ...box, x: Math.min(1 - box.w, Math.max(0, value)) };
    case "y":
      return { ...box, y: Math.min(1 - box.h, Math.max(0, value)) };
    case "w":
      return { ...box, w: Math.min(1 - box.x, Math.max(0.0001, value)) };
    case "h":
      return { ...box, h: Math.min(1 - box.y, Math.max(0.0001, value)) };
  }
}

/** The box grown (or shrunk) at its right and bottom edges. */
function resized(box: Box, dw: number, dh: number): Box {
  return setSide(setSide(box, "w", box.w + dw), "h", box.h + dh);
}

function outline(context: CanvasRenderingContext2D, shape: Region["shape"], box: Box, width: number, height: number, colour: string, line: number, dashed: boolean) {
  const x = box.x * width;
  const y = box.y * height;
  const w = box.w * width;
  const h = box.h * height;
  context.save();
  context.lineWidth = line;
  context.strokeStyle = colour;
  context.setLineDash(dashed ? [line * 3, line * 2] : []);
  context.beginPath();
  if (shape === "ellipse") context.ellipse(x + w / 2, y + h / 2, w / 2, h / 2, 0, 0, Math.PI * 2);
  else context.rect(x, y, w, h);
  context.stroke();
  context.restore();
}
