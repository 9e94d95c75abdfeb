/**
 * One evidence item, opened: the manifest's signature and the key release (recorded) first, then
 * the photo, video or audio at once from its per-view URL (streamed through the service worker,
 * each part checked before a byte of it plays), while the whole file is checked in the
 * background: "checking… N %", then the "Verified" badge (signer, signing time, SHA-512) only
 * when every part, the size and the whole-file SHA-512 passed. Anything that fails stops the
 * player, drops the plaintext and shows "Integrity check failed: <what>". Download (to a file the
 * user picks, or streamed), court package export (both recorded) and versioned details.
 */
import { ItemRetention } from "../retention/ItemRetention";
import { useEffect, useRef, useState } from "preact/hooks";
import type { JWK } from "jose";
import type { CaseDetail, EvidenceSummary, TimestampStatus } from "../../../shared/api/cases";
import type { SessionInfo } from "../../../shared/api/schemas";
import { packageFileName } from "../../../shared/crypto/package";
import { ApiError } from "../api/client";
import { casesApi, evidenceApi } from "../cases/api";
import { Field, FormAlert, parseTags, SubmitButton, TextArea, useForm } from "../ui/forms";
import type { DeviceKeys } from "../keys/store";
import { ProgressBar } from "../ui/progress";
import { messageOf } from "../ui/messages";
import { caseHref } from "../ui/router";
import { PageHeading } from "../ui/layout";
import { DerivedProvenance, SubmissionProvenance, VideoProvenance } from "./Provenance";
import { VideoPlayer } from "./VideoPlayer";
import { canRedact, Redactor } from "../redaction/Redactor";
import { decryptDetails, encryptDetails, encryptDetailsToCase, EvidenceDetails, type EvidenceDetails as Details } from "./details";
import { formatBytes, formatDateTime } from "../ui/format";
import { isReachable } from "../api/connectivity";
import { recordOffline, recordOfflineView } from "../offline/events";
import { forgetOffline, keepOffline, keptCopy } from "../offline/kept";
import "./evidence.css";
import { EvidenceOpener, forgetOpened, OpenError, type CheckEvent, type OpenedEvidence, type OpenStep } from "./open";
import { saveBlob } from "../ui/download";
import { db } from "../db";
import { ContentViewer } from "./viewers/ContentViewer";
import { clearMarks, mark } from "./marks";

/** The longest the page holds back what the first frame does not need, if no reader streams the item. */
const SETTLE_AT_LATEST_MS = 2_000;

/** The whole-file check of an open item: bytes checked in order so far, or done. */
type Check = { verified: false; verifiedBytes: number } | { verified: true };

type View =
  | { kind: "loading" }
  | { kind: "opening"; step: OpenStep }
  /** `offline`: opened from the copy kept on this device, while the server could not be reached. */
  | { kind: "open"; opened: OpenedEvidence; offline?: boolean }
  | { kind: "integrity"; what: string; message: string }
  | { kind: "error"; message: string };

export function EvidencePage(props: { caseId: string; evidenceId: string; session: SessionInfo; keys: DeviceKeys }) {
  const [item, setItem] = useState<EvidenceSummary>();
  const [view, setView] = useState<View>({ kind: "loading" });
  const [check, setCheck] = useState<Check>({ verified: false, verifiedBytes: 0 });
  const [caseLabel, setCaseLabel] = useState<string>();
  const [myRole, setMyRole] = useState<string>();
  /** The case's current public key: an edit of the details is also encrypted to it, for members' lists and search. */
  const [casePublicJwk, setCasePublicJwk] = useState<JWK>();
  /** The latest details' title, when one was given: the item's heading (the file name stays below it). */
  const [editedTitle, setEditedTitle] = useState("");
  const [caseDetail, setCaseDetail] = useState<CaseDetail>();
  const opener = useRef<EvidenceOpener | undefined>(undefined);
  /**
   * The player has its first checked bytes (or the opening ended otherwise): only then does the page
   * load what the first frame does not need (the case, details, markers, retention), so those
   * requests do not compete with the key release and the first part.
   */
  const [settled, setSettled] = useState(false);

  async function open() {
    clearMarks();
    mark("page");
    opener.current?.dispose();
    const current = (opener.current = new EvidenceOpener());
    setCheck({ verified: false, verifiedBytes: 0 });
    // At the latest after a moment: an item no reader streams (a file with no viewer) does not hold them back.
    void Promise.race([current.firstBytes, new Promise((resolve) => setTimeout(resolve, SETTLE_AT_LATEST_MS))]).then(() => opener.current === current && setSettled(true));
    let failed = false;
    // A failure at any time (a part, a segment, the size, the whole-file SHA-512) replaces the
    // player with what failed: nothing more is played, and the worker has dropped the plaintext.
    current.onCheck((event: CheckEvent) => {
      if (opener.current !== current) return;
      if (event.type === "progress") setCheck({ verified: false, verifiedBytes: event.verifiedBytes });
      else if (event.type === "verified") setCheck({ verified: true });
      else {
        failed = true;
        current.dispose();
        showFailure(event.error);
      }
    });
    const userId = props.session.user.id;
    const kept = await keptCopy(userId, props.evidenceId);
    /** Opens the copy kept on this device (the server cannot be reached), and records the view for the audit trail. */
    const openKept = async (copy: NonNullable<typeof kept>) => {
      setItem(copy.item);
      const opened = await current.openKept(copy.item, copy.signer, copy.release, copy.ciphertext, props.keys, (step) => setView({ kind: "opening", step }));
      await recordOfflineView(userId, copy.item.id, { caseId: copy.item.caseId, copy: "offline" });
      if (!failed) setView({ kind: "open", opened, offline: true });
    };
    try {
      if (kept && !isReachable()) return await openKept(kept);
      try {
        const summary = evidenceApi.get(props.evidenceId).then((found) => {
          setItem(found);
          return found;
        });
        const opened = await current.open(props.evidenceId, summary, props.keys, (step) => setView({ kind: "opening", step }));
        if (!failed) setView({ kind: "open", opened });
      } catch (error) {
        // The connection went on the way: the kept copy, if there is one.
        if (kept && error instanceof ApiError && error.code === "unreachable") return await openKept(kept);
        throw error;
      }
    } catch (error) {
      showFailure(error);
    }
  }

  function showFailure(error: unknown) {
    setSettled(true);
    if (error instanceof OpenError && error.integrity) setView({ kind: "integrity", what: error.what, message: error.message });
    else if (error instanceof OpenError) setView({ kind: "error", message: error.message });
    else if (error instanceof ApiError && error.status === 404) setView({ kind: "error", message: "This evidence doesn't exist, or you are not a member of its case." });
    else if (error instanceof ApiError && error.code === "unreachable")
      setView({ kind: "error", message: "You're offline, and this item is not kept on this device. Open it when you're back online; “Keep offline” on its page then keeps it with you." });
    else setView({ kind: "error", message: error instanceof ApiError ? error.message : `Couldn't open this evidence: ${error instanceof Error ? error.message : String(error)}` });
  }

  useEffect(() => {
    if (!settled || caseDetail) return;
    casesApi.get(props.caseId).then(
      (c) => {
        setCaseLabel(`${c.number} · ${c.title}`);
        setMyRole(c.myRole);
        setCasePublicJwk(c.caseKey.publicJwk);
        setCaseDetail(c);
      },
      () => undefined,
    );
  }, [settled]);

  useEffect(() => {
    void open();
    return () => {
      opener.current?.dispose();
      // The decrypted copy is removed from the device when the user leaves the item.
      void forgetOpened(props.evidenceId);
    };
  }, [props.evidenceId]);

  const fileName = view.kind === "open" ? view.opened.metadata.fileName : undefined;
  const title = editedTitle || fileName || "Evidence";
  return (
    <>
      <p class="breadcrumb">
        <a href={caseHref(props.caseId)}>← {caseLabel ?? "Case"}</a>
      </p>
      <PageHeading>{title}</PageHeading>
      {item && (
        <p class="muted">
          {editedTitle && fileName ? `${fileName} · ` : ""}
          {formatBytes(item.byteSize)} · added by {item.uploader.name} · {formatDateTime(item.completedAt ?? item.createdAt)}
        </p>
      )}
      {view.kind === "loading" && <p aria-busy="true">Loading…</p>}
      {view.kind === "opening" && <Opening step={view.step} />}
      {view.kind === "integrity" && (
        <div role="alert" class="alert integrity-failed">
          <p>
            <strong>Integrity check failed: {view.what}</strong>
          </p>
          <p>{view.message}. Nothing from this file is shown. Tell the case lead: the stored copy or the network may have been tampered with.</p>
          <button type="button" onClick={() => void open()}>
            Try again
          </button>
        </div>
      )}
      {view.kind === "error" && (
        <div role="alert" class="alert">
          <p>{view.message}</p>
          <button type="button" onClick={() => void open()}>
            Try again
          </button>
        </div>
      )}
      {view.kind === "open" && item && (
        <Verified
          item={item}
          opened={view.opened}
          check={check}
          settled={settled}
          opener={opener.current!}
          canEdit={(myRole === "lead" || myRole === "contributor") && !view.offline}
          offline={!!view.offline}
          userId={props.session.user.id}
          keys={props.keys}
          casePublicJwk={casePublicJwk}
          onDetails={(details) => {
            setEditedTitle(details?.title ?? "");
            // The Audit page names items from the device's names: the edited title where there is one.
            if (details?.title) void db.evidenceLabels.update(props.evidenceId, { title: details.title }).catch(() => undefined);
          }}
          caseDetail={caseDetail}
        />
      )}
      {item && item.status === "complete" && settled && (
        <ItemRetention
          evidenceId={item.id}
          caseId={props.caseId}
          canManage={myRole === "lead" || props.session.user.role === "admin"}
          isUploader={item.uploader.id === props.session.user.id}
          canRequest={myRole === "lead" || myRole === "contributor"}
        />
      )}
    </>
  );
}

function Opening(props: { step: OpenStep }) {
  const { step } = props;
  const pct = step.step === "decrypt" && step.totalBytes > 0 ? Math.floor((step.plainBytes / step.totalBytes) * 100) : 0;
  return (
    <div class="opening" aria-live="polite">
      {step.step === "signature" && <p>Checking the signature…</p>}
      {step.step === "key" && <p>Releasing the key (this opening is recorded)…</p>}
      {step.step === "decrypt" && (
        <div class="progress">
          <div role="progressbar" aria-label="Decrypting and verifying" aria-valuemin={0} aria-valuemax={100} aria-valuenow={pct} class="progress-track">
            <div class="progress-fill" style={{ width: `${pct}%` }} />
          </div>
          <p class="progress-text">Decrypting and verifying… {pct} %</p>
        </div>
      )}
    </div>
  );
}

function shortHash(hex: string): string {
  return `${hex.slice(0, 16)}…${hex.slice(-16)}`;
}

/** What the page says of the item's trusted timestamp (RFC 3161, docs/evidence-format.md §9). */
function timestampText(stamp: TimestampStatus | "offline" | undefined): string {
  if (stamp === undefined) return "Checking…";
  if (stamp === "offline") return "Not checked while offline.";
  switch (stamp.state) {
    case "stamped":
      return `Timestamped by ${stamp.tsaName} at ${formatDateTime(stamp.genTime)}`;
    case "pending":
      return `Awaiting timestamp: the time-stamping authority has not given one yet${stamp.lastError ? ` (${stamp.lastError})` : ""}. It is retried automatically.`;
    case "failed":
      return `No timestamp: the time-stamping authority failed ${stamp.attempts} times${stamp.lastError ? ` (${stamp.lastError})` : ""}.`;
    case "unconfigured":
      return "No time-stamping authority configured: the signing time is the uploader's device clock.";
  }
}

function TimestampRow(props: { evidenceId: string; offline: boolean }) {
  const [stamp, setStamp] = useState<TimestampStatus | "offline">();
  const [busy, setBusy] = useState(false);
  async function load() {
    if (props.offline) return setStamp("offline");
    setBusy(true);
    try {
      setStamp(await evidenceApi.timestamp(props.evidenceId));
    } catch {
      setStamp("offline");
    } finally {
      setBusy(false);
    }
  }
  useEffect(() => void load(), [props.evidenceId, props.offline]);
  return (
    <>
      <dt>Trusted time</dt>
      <dd>
        <span aria-live="polite">{timestampText(stamp)}</span>
        {stamp !== "offline" && stamp?.state === "pending" && (
          <>
            {" "}
            <button type="button" class="small" disabled={busy} onClick={() => void load()}>
              Check again
            </button>
          </>
        )}
      </dd>
    </>
  );
}

/** "checking… N %" while the whole file is checked in the background; never the badge before it passed. */
function Checking(props: { check: Check; totalBytes: number }) {
  const bytes = props.check.verified ? props.totalBytes : props.check.verifiedBytes;
  const pct = props.totalBytes > 0 ? Math.floor((bytes / props.totalBytes) * 100) : 0;
  return (
    <section class="checking" aria-labelledby="checking-heading">
      <h2 id="checking-heading">Checking integrity</h2>
      <ProgressBar label="Checking integrity" value={pct} text={`checking… ${pct} %`} />
      <p class="hint">It plays already: every part is checked against the signed manifest before it is shown. “Verified” appears when the whole file has matched.</p>
    </section>
  );
}

function Verified(props: {
  item: EvidenceSummary;
  opened: OpenedEvidence;
  check: Check;
  /** The player has its first bytes: details and markers load now. */
  settled: boolean;
  opener: EvidenceOpener;
  canEdit: boolean;
  offline: boolean;
  userId: string;
  keys: DeviceKeys;
  casePublicJwk: JWK | undefined;
  onDetails: (latest: Details | null) => void;
  caseDetail: CaseDetail | undefined;
}) {
  const { opened } = props;
  const { metadata, manifest } = opened;
  const [copied, setCopied] = useState("");
  const [busy, setBusy] = useState<"download" | "export">();
  const [error, setError] = useState<string>();
  /** Bumped when the details change (the player's markers, the details form), so both show the latest version. */
  const [detailsRev, setDetailsRev] = useState(0);
  /** The redaction editor is open in place of the viewer (photos and PDFs; members who may add evidence). */
  const [redacting, setRedacting] = useState(false);
  const type = metadata.mediaType;

  async function copyHash() {
    try {
      await navigator.clipboard.writeText(manifest.sha512);
      setCopied("SHA-512 copied.");
    } catch {
      setCopied("Couldn't copy: select the value and copy it by hand.");
    }
  }

  async function download() {
    setBusy("download");
    setError(undefined);
    try {
      if (props.offline) await recordOffline(props.userId, "evidence.download", props.item.id, { caseId: props.item.caseId, copy: "offline" });
      else await evidenceApi.recordAccess(props.item.id, "download");
      await props.opener.saveOriginal(opened, packageFileName(metadata.fileName));
    } catch (caught) {
      setError(`Couldn't download: ${messageOf(caught)}`);
    } finally {
      setBusy(undefined);
    }
  }

  async function exportPackage() {
    setBusy("export");
    setError(undefined);
    try {
      if (props.offline) await recordOffline(props.userId, "evidence.export", props.item.id, { caseId: props.item.caseId, copy: "offline" });
      else await evidenceApi.recordAccess(props.item.id, "export");
      const zip = await props.opener.exportPackage(opened, props.item.id, props.keys);
      saveBlob(zip, `custody-${props.item.id.slice(0, 8)}-${packageFileName(metadata.fileName)}.zip`);
    } catch (caught) {
      setError(caught instanceof OpenError ? `Couldn't build the package: ${caught.what}: ${caught.message}` : `Couldn't export: ${messageOf(caught)}`);
    } finally {
      setBusy(undefined);
    }
  }

  return (
    <>
      {props.offline && (
        <p class="saved-note" role="status">
          Opened from the copy kept on this device (offline). It was verified here just as online; this viewing is recorded and sent to the audit trail when the device is back online.
        </p>
      )}
      {!props.check.verified && <Checking check={props.check} totalBytes={manifest.byteSize} />}
      {props.check.verified && <section class="verified-badge" aria-labelledby="verified-heading">
        <h2 id="verified-heading">
          <span aria-hidden="true">✓ </span>Verified
        </h2>
        <dl>
          <dt>Signed by</dt>
          <dd>{opened.signer.owner.name}</dd>
          <dt>Signed at</dt>
          <dd>{formatDateTime(manifest.signedAt)}</dd>
          <TimestampRow evidenceId={props.item.id} offline={props.offline} />
          {metadata.capturedAt ? (
            <>
              <dt>Captured</dt>
              <dd>
                {formatDateTime(metadata.capturedAt)}
                {captureSourceText(metadata.device?.captureTimeSource)}
              </dd>
            </>
          ) : typeof metadata.device?.capturedAtLocal === "string" ? (
            <>
              <dt>Captured</dt>
              <dd>{metadata.device.capturedAtLocal.replace("T", " ")} camera's local time, time zone unknown (from the photo's EXIF)</dd>
            </>
          ) : null}
          {typeof metadata.device?.latitude === "number" && typeof metadata.device?.longitude === "number" && (
            <>
              <dt>Location</dt>
              <dd>
                {metadata.device.latitude.toFixed(5)}, {metadata.device.longitude.toFixed(5)}
                {typeof metadata.device.accuracyMetres === "number" ? ` (±${metadata.device.accuracyMetres} m)` : ""}
              </dd>
            </>
          )}
          <dt>SHA-512</dt>
          <dd>
            <code title={manifest.sha512}>{shortHash(manifest.sha512)}</code>{" "}
            <button type="button" class="small" onClick={() => void copyHash()}>
              Copy SHA-512
            </button>
            <span role="status" class="muted">
              {copied}
            </span>
          </dd>
        </dl>
        <p class="hint">Every part, segment and the whole file matched the signed manifest.</p>
      </section>}
      {manifest.requestId && <VideoProvenance requestId={manifest.requestId} camera={metadata.camera} />}
      {props.item.source && <SubmissionProvenance source={props.item.source} caseId={props.item.caseId} keys={props.keys} />}
      {manifest.derivedFrom && <DerivedProvenance caseId={props.item.caseId} derivedFrom={manifest.derivedFrom} />}
      <div class="evidence-content">
        {type.startsWith("video/") && (
          <VideoPlayer
            url={opened.url}
            evidenceId={props.item.id}
            metadata={metadata}
            manifest={manifest}
            fileKey={opened.fileKey}
            canEdit={props.canEdit}
            caseDetail={props.offline ? undefined : props.caseDetail}
            userId={props.userId}
            keys={props.keys}
            detailsRev={detailsRev}
            onDetailsChanged={() => setDetailsRev((n) => n + 1)}
            settled={props.settled}
          />
        )}
        {redacting && props.caseDetail ? (
          <Redactor
            source={{ evidenceId: props.item.id, sha512: manifest.sha512, fileName: metadata.fileName, mediaType: type }}
            url={opened.url}
            capturedAt={metadata.capturedAt}
            caseDetail={props.caseDetail}
            userId={props.userId}
            keys={props.keys}
            onClose={() => setRedacting(false)}
          />
        ) : (
          !type.startsWith("video/") && <ContentViewer url={opened.url} mediaType={type} fileName={metadata.fileName} />
        )}
      </div>
      <div class="actions">
        {props.canEdit && props.caseDetail && canRedact(type) && !redacting && (
          <button type="button" onClick={() => setRedacting(true)}>
            Redact…
          </button>
        )}
        <button type="button" class="primary" disabled={!!busy} onClick={() => void download()}>
          {busy === "download" ? "Saving…" : "Download original"}
        </button>
        <button type="button" disabled={!!busy} onClick={() => void exportPackage()}>
          {busy === "export" ? "Building package…" : "Export package"}
        </button>
      </div>
      <p class="hint">Downloads and exports are recorded in the case history.</p>
      {error && (
        <p role="alert" class="alert">
          {error}
        </p>
      )}
      <KeepOffline item={props.item} opened={opened} userId={props.userId} offline={props.offline} />
      {props.settled && <DetailsSection evidenceId={props.item.id} fileKey={opened.fileKey} canEdit={props.canEdit} casePublicJwk={props.casePublicJwk} onDetails={props.onDetails} rev={detailsRev} onChanged={() => setDetailsRev((n) => n + 1)} />}
    </>
  );
}

/** "Keep offline": the item's ciphertext on this device, to open (decrypted and verified here) without a connection. */
function KeepOffline(props: { item: EvidenceSummary; opened: OpenedEvidence; userId: string; offline: boolean }) {
  const [kept, setKept] = useState<boolean>();
  const [progress, setProgress] = useState<number>();
  const [error, setError] = useState<string>();
  useEffect(() => {
    keptCopy(props.userId, props.item.id).then((copy) => setKept(!!copy), () => setKept(false));
  }, [props.item.id]);

  async function keep() {
    setError(undefined);
    setProgress(0);
    try {
      await keepOffline(props.userId, props.item, props.opened, (bytes, total) => setProgress(Math.floor((bytes / total) * 100)));
      setKept(true);
    } catch (caught) {
      setError(`Couldn't keep it offline: ${caught instanceof Error ? caught.message : String(caught)}`);
    } finally {
      setProgress(undefined);
    }
  }

  async function remove() {
    setError(undefined);
    await forgetOffline(props.item.id);
    setKept(false);
  }

  if (kept === undefined) return null;
  return (
    <section aria-labelledby="offline-heading" class="keep-offline">
      <h2 id="offline-heading">Offline</h2>
      {kept ? (
        <>
          <p>Kept on this device: it opens without a connection (encrypted here, decrypted and verified when opened).</p>
          {!props.offline && (
            <button type="button" onClick={() => void remove()}>
              Remove offline copy
            </button>
          )}
        </>
      ) : progress !== undefined ? (
        <ProgressBar label="Keeping offline" value={progress} text={`Downloading the encrypted copy… ${progress} %`} />
      ) : (
        <>
          <p class="hint">Keep the encrypted file on this device to open it without a connection. Offline viewings are recorded and sent when back online.</p>
          <button type="button" onClick={() => void keep()}>
            Keep offline
          </button>
        </>
      )}
      <FormAlert message={error} />
    </section>
  );
}

interface Version {
  version: number;
  details: Details | null;
  editedBy: string;
  editedAt: string;
}

function DetailsSection(props: { evidenceId: string; fileKey: CryptoKey; canEdit: boolean; casePublicJwk: JWK | undefined; onDetails: (latest: Details | null) => void; rev: number; onChanged: () => void }) {
  const [versions, setVersions] = useState<Version[]>();
  const [loadError, setLoadError] = useState<string>();
  const [editing, setEditing] = useState(false);

  async function load() {
    setLoadError(undefined);
    try {
      const list = (await evidenceApi.detailsVersions(props.evidenceId)).versions;
      const decrypted: Version[] = [];
      for (const v of list) {
        let details: Details | null = null;
        try {
          details = await decryptDetails(v.jwe, props.fileKey);
        } catch {
          details = null; // shown as "could not be decrypted"
        }
        decrypted.push({ version: v.version, details, editedBy: v.editedBy.name, editedAt: v.editedAt });
      }
      decrypted.sort((a, b) => b.version - a.version);
      setVersions(decrypted);
      props.onDetails(decrypted[0]?.details ?? null);
    } catch (caught) {
      setLoadError(messageOf(caught));
    }
  }
  useEffect(() => void load(), [props.evidenceId, props.rev]);

  const latest = versions?.[0];
  const form = useForm({
    schema: EvidenceDetails,
    // The player's markers are part of the same details: kept as they are when the text is edited.
    toBody: (values) => ({ title: values["title"] ?? "", description: values["description"] ?? "", tags: parseTags(values["tags"]), ...(latest?.details?.markers ? { markers: latest.details.markers } : {}) }),
    send: async (details) => {
      const caseCopy = props.casePublicJwk ? await encryptDetailsToCase(details, props.casePublicJwk) : undefined;
      await evidenceApi.updateDetails(props.evidenceId, await encryptDetails(details, props.fileKey), latest?.version ?? 0, caseCopy);
      setEditing(false);
      props.onChanged();
    },
  });

  return (
    <section aria-labelledby="details-heading">
      <h2 id="details-heading">Details</h2>
      {loadError && (
        <p role="alert" class="alert">
          Couldn't load the details. {loadError}
        </p>
      )}
      {latest?.details ? (
        <dl class="details">
          <dt>Title</dt>
          <dd>{latest.details.title || "—"}</dd>
          <dt>Description</dt>
          <dd>{latest.details.description || "—"}</dd>
          <dt>Tags</dt>
          <dd>{latest.details.tags.join(", ") || "—"}</dd>
        </dl>
      ) : (
        versions && <p class="muted">No details yet.</p>
      )}
      {props.canEdit && !editing && versions && (
        <button type="button" onClick={() => setEditing(true)}>
          Edit details
        </button>
      )}
      {editing && (
        <form ref={form.formRef} aria-label="Edit details" onSubmit={form.onSubmit} onInput={form.onInput} noValidate>
          <FormAlert message={form.formError} />
          <Field name="title" label="Title" required={false} defaultValue={latest?.details?.title ?? ""} error={form.errors["title"]} />
          <TextArea name="description" label="Description" defaultValue={latest?.details?.description ?? ""} error={form.errors["description"]} />
          <Field name="tags" label="Tags (comma-separated)" required={false} defaultValue={latest?.details?.tags.join(", ") ?? ""} error={form.errors["tags"]} />
          <p class="hint">Saving adds a new version, encrypted on this device; earlier versions and the original file stay as they were.</p>
          <div class="actions">
            <SubmitButton busy={form.busy} label="Save details" busyLabel="Saving…" />
            <button type="button" onClick={() => setEditing(false)} disabled={form.busy}>
              Cancel
            </button>
          </div>
        </form>
      )}
      {versions && versions.length > 0 && (
        <>
          <h3>Versions</h3>
          <ol class="versions" aria-label="Details versions">
            {versions.map((v) => (
              <li key={v.version}>
                <strong>Version {v.version}</strong> · {v.editedBy} · {formatDateTime(v.editedAt)}
                <br />
                {v.details ? <span>{v.details.title || "(no title)"}</span> : <span class="alert">This version could not be decrypted with this file's key.</span>}
              </li>
            ))}
          </ol>
        </>
      )}
    </section>
  );
}

/** How the capture time was found (docs/evidence-format.md §5, `device.captureTimeSource`), as a suffix. */
function captureSourceText(source: unknown): string {
  switch (source) {
    case "exif": return " (from the photo's EXIF)";
    case "mp4": return " (from the video's own header)";
    case "file-modified": return " (the file's modification time)";
    case "device-clock": return " (the device's clock when added)";
    case "clip": return " (the original's recording time at the clip's start)";
    case "redaction": return " (the original's capture time: this is a redacted copy)";
    default: return "";
  }
}
