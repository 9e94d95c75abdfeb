/**
 * "Case package" on a case page (leads): choose items, pick where to save, and the package is
 * built on this device (only this browser holds the keys) and streamed to the file: through
 * the File System Access API where the browser has it, otherwise into this device's private
 * storage (on disk, not in memory) and downloaded from there. Progress with percentage and
 * time left; Cancel stops it and discards the partial file.
 */
import { useState } from "preact/hooks";
import type { SessionInfo } from "../../../shared/api/schemas";
import { casesApi } from "../cases/api";
import type { DeviceKeys } from "../keys/store";
import { saveBlob } from "../ui/download";
import { formatBytes, formatDuration } from "../ui/format";
import { messageOf } from "../ui/messages";
import { ProgressBar } from "../ui/progress";
import { readFile, removeFile } from "../upload/opfs";
import { buildCasePackage, PackageError, type BuildStep, type CasePackageSource, type PackageItemRef } from "./build";
import { memberSource } from "./member-source";
import type { PackageOutput } from "./messages";
import "./casepkg.css";

export interface PackageChoice {
  ref: PackageItemRef;
  name: string;
  byteSize: number;
}

type State =
  | { kind: "idle" }
  | { kind: "loading" }
  | { kind: "choosing"; items: PackageChoice[]; chosen: Set<string> }
  | { kind: "building"; step: BuildStep | null; started: number; abort: AbortController }
  | { kind: "done"; fileName: string; bytes: number; downloaded: boolean };

const OPFS_NAME = "case-package.zip";

/** `case-<number>-package-<YYYY-MM-DD>.zip`, safe as a file name. */
export function casePackageFileName(caseNumber: string, at: Date): string {
  return `case-${caseNumber.replace(/[^A-Za-z0-9._-]+/g, "-")}-package-${at.toISOString().slice(0, 10)}.zip`;
}

type SavePicker = (options: { suggestedName: string; types: { description: string; accept: Record<string, string[]> }[] }) => Promise<FileSystemFileHandle>;

function stepText(step: BuildStep | null, started: number): { value: number; text: string } {
  if (!step) return { value: 0, text: "Starting…" };
  if (step.step === "prepare") return { value: 0, text: `Preparing item ${step.item} of ${step.items} (keys, signatures, audit extract)…` };
  const value = step.totalBytes > 0 ? Math.min(99, Math.floor((step.bytes / step.totalBytes) * 100)) : 0;
  const seconds = (Date.now() - started) / 1000;
  const speed = seconds > 1 ? step.bytes / seconds : 0;
  const left = speed > 0 ? ` · ${formatDuration(Math.max(0, step.totalBytes - step.bytes) / speed)} left` : "";
  return { value, text: `${value} % · ${formatBytes(step.bytes)} of ${formatBytes(step.totalBytes)}${left}` };
}

/** Where a member's package comes from: their key releases, recorded as the case's package export. */
export function memberPackage(caseId: string, session: SessionInfo, keys: DeviceKeys): PackageOrigin {
  const user = session.user;
  return { exportedBy: `${user.name} <${user.email}>`, source: memberSource(keys), record: (ids) => casesApi.recordPackage(caseId, ids).then(() => undefined) };
}

/** Who exports, where the pieces come from, and how the export is recorded before it is built. */
export interface PackageOrigin {
  exportedBy: string;
  source: CasePackageSource;
  record: (evidenceIds: string[]) => Promise<void>;
}

export function CasePackagePanel(props: {
  caseDetail: { id: string; number: string; title: string };
  origin: PackageOrigin;
  /** Every complete item of the case (or share) with its (decrypted) name, newest first. */
  loadItems: () => Promise<PackageChoice[]>;
  hint?: string;
}) {
  const [state, setState] = useState<State>({ kind: "idle" });
  const [error, setError] = useState<string>();

  async function choose() {
    setError(undefined);
    setState({ kind: "loading" });
    try {
      const items = await props.loadItems();
      if (items.length === 0) {
        setError("This case has no complete evidence to package yet.");
        setState({ kind: "idle" });
        return;
      }
      setState({ kind: "choosing", items, chosen: new Set(items.map((i) => i.ref.id)) });
    } catch (caught) {
      setError(`Couldn't list the evidence: ${messageOf(caught)}`);
      setState({ kind: "idle" });
    }
  }

  async function save(items: PackageChoice[]) {
    setError(undefined);
    const fileName = casePackageFileName(props.caseDetail.number, new Date());
    // The picker first, while the click still counts as the person's gesture.
    const picker = (window as unknown as { showSaveFilePicker?: SavePicker }).showSaveFilePicker;
    let output: PackageOutput = { kind: "opfs", name: OPFS_NAME };
    if (picker) {
      try {
        output = { kind: "file", handle: await picker({ suggestedName: fileName, types: [{ description: "ZIP archive", accept: { "application/zip": [".zip"] } }] }) };
      } catch (caught) {
        if (caught instanceof DOMException && caught.name === "AbortError") return; // the person closed the dialog
        output = { kind: "opfs", name: OPFS_NAME };
      }
    }
    const abort = new AbortController();
    const started = Date.now();
    setState({ kind: "building", step: null, started, abort });
    try {
      const refs = items.map((i) => i.ref);
      await props.origin.record(refs.map((r) => r.id));
      const bytes = await buildCasePackage({
        case: { id: props.caseDetail.id, number: props.caseDetail.number, title: props.caseDetail.title },
        exportedBy: props.origin.exportedBy,
        items: refs,
        source: props.origin.source,
        output,
        signal: abort.signal,
        onStep: (step) => setState((s) => (s.kind === "building" ? { ...s, step } : s)),
      });
      if (output.kind === "opfs") {
        const file = await readFile("views", OPFS_NAME);
        if (!file || file.size !== bytes) throw new Error("The package could not be read back from this device's storage.");
        saveBlob(file, fileName);
      }
      setState({ kind: "done", fileName: output.kind === "file" ? output.handle.name : fileName, bytes, downloaded: output.kind === "opfs" });
    } catch (caught) {
      if (output.kind === "opfs") await removeFile("views", OPFS_NAME).catch(() => undefined);
      else await (output.handle as FileSystemFileHandle & { remove?: () => Promise<void> }).remove?.().catch(() => undefined);
      setState({ kind: "idle" });
      if (abort.signal.aborted) setError("Cancelled: the partial package was discarded.");
      else if (caught instanceof PackageError) setError(`Couldn't build the package: ${caught.what}: ${caught.message}${caught.integrity ? " An item did not verify: nothing was saved." : ""}`);
      else setError(`Couldn't build the package: ${messageOf(caught)}`);
    }
  }

  return (
    <section aria-labelledby="package-heading" class="card case-package">
      <h2 id="package-heading">Case package</h2>
      <p class="hint">
        One ZIP for court or disclosure: each chosen item's original with its signed manifest, signer certification, timestamp and audit extract, a chain-of-custody report (PDF) and
        VERIFY.txt. Built on this device: the server never sees the files or their keys. {props.hint ?? "Each item's key release and the export are recorded in the case history."}
      </p>
      {(state.kind === "idle" || state.kind === "loading") && (
        <button type="button" disabled={state.kind === "loading"} onClick={() => void choose()}>
          {state.kind === "loading" ? "Listing evidence…" : "Download case package"}
        </button>
      )}
      {state.kind === "choosing" && <Chooser state={state} onChange={setState} onSave={(items) => void save(items)} onCancel={() => setState({ kind: "idle" })} />}
      {state.kind === "building" && (
        <div class="stack">
          <ProgressBar label="Case package" {...stepText(state.step, state.started)} />
          <button type="button" onClick={() => state.abort.abort(new DOMException("Cancelled", "AbortError"))}>
            Cancel package
          </button>
        </div>
      )}
      {state.kind === "done" && (
        <div class="stack">
          <p role="status">
            {state.downloaded ? "Downloaded" : "Saved"} {state.fileName} ({formatBytes(state.bytes)}). Anyone can check it offline with <code>npm run verify -- {state.fileName}</code> or the steps in its
            VERIFY.txt.
          </p>
          <button type="button" onClick={() => setState({ kind: "idle" })}>
            Done
          </button>
        </div>
      )}
      {error && (
        <p role="alert" class="alert">
          {error}
        </p>
      )}
    </section>
  );
}

function Chooser(props: {
  state: Extract<State, { kind: "choosing" }>;
  onChange: (state: State) => void;
  onSave: (items: PackageChoice[]) => void;
  onCancel: () => void;
}) {
  const { items, chosen } = props.state;
  const picked = items.filter((i) => chosen.has(i.ref.id));
  const total = picked.reduce((n, i) => n + i.byteSize, 0);
  const toggle = (id: string, on: boolean) => {
    const next = new Set(chosen);
    if (on) next.add(id);
    else next.delete(id);
    props.onChange({ ...props.state, chosen: next });
  };
  return (
    <div class="stack">
      <fieldset class="package-items">
        <legend>Items to include</legend>
        <label class="package-item">
          <input
            type="checkbox"
            checked={picked.length === items.length}
            onChange={(event) => props.onChange({ ...props.state, chosen: new Set((event.currentTarget as HTMLInputElement).checked ? items.map((i) => i.ref.id) : []) })}
          />
          <span>All items ({items.length})</span>
        </label>
        {items.map((item) => (
          <label class="package-item" key={item.ref.id}>
            <input type="checkbox" checked={chosen.has(item.ref.id)} onChange={(event) => toggle(item.ref.id, (event.currentTarget as HTMLInputElement).checked)} />
            <span>
              {item.name} <span class="muted">· {formatBytes(item.byteSize)}</span>
            </span>
          </label>
        ))}
      </fieldset>
      <p class="hint">
        {picked.length} of {items.length} items, {formatBytes(total)} in all.
      </p>
      <div class="actions">
        <button type="button" class="primary" disabled={picked.length === 0} onClick={() => props.onSave(picked)}>
          Save package
        </button>
        <button type="button" onClick={props.onCancel}>
          Cancel
        </button>
      </div>
    </div>
  );
}
