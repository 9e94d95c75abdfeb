/**
 * The recipient's portal for one share (docs/disclosure.md §2-4): the shared items with names,
 * types, sizes and details, each opened, decrypted and verified here with the app's viewer and its
 * verification badge; the downloads the share's level allows; and the signed receipt.
 */
import { useEffect, useRef, useState } from "preact/hooks";
import type { TimestampStatus } from "../../../shared/api/cases";
import type { SignerKey } from "../../../shared/api/schemas";
import type { ReceivedShare, SharedItem } from "../../../shared/api/shares";
import type { EvidenceLabel, UnlockedKey } from "../../../shared/crypto/index";
import { packageFileName } from "../../../shared/crypto/package";
import { decryptDetails, type EvidenceDetails } from "../evidence/details";
import { EvidenceOpener, forgetOpened, OpenError, type CheckEvent, type OpenStep, type SharedOpenedEvidence } from "../evidence/open";
import { saveBlob } from "../ui/download";
import { FileTypeIcon, fileKind } from "../ui/file-type";
import { ContentViewer, hasViewer } from "../evidence/viewers/ContentViewer";
import { ProgressBar } from "../ui/progress";
import { formatBytes, formatDateTime } from "../ui/format";
import { messageOf } from "../ui/messages";
import { CasePackagePanel } from "../casepkg/CasePackagePanel";
import { sharedApi, type RecipientAuth } from "./api";
import { sharePackage } from "./share-package";
import { openFileKey, openFileKeyBytes, shareLabels } from "./crypto";
import { LEVEL_LABELS } from "./labels";
import { saveReceipt } from "./receipt-file";
import "../evidence/evidence.css";
import "./sharing.css";

export function ShareView(props: { share: ReceivedShare; shareKey: UnlockedKey; auth: RecipientAuth; signReceipt: (name: string) => Promise<string>; recipientName: string | null }) {
  const { share } = props;
  const [labels, setLabels] = useState<Map<string, EvidenceLabel | null>>();
  const [openId, setOpenId] = useState<string>();
  useEffect(() => {
    shareLabels(share, props.shareKey).then(setLabels, () => setLabels(new Map()));
  }, [share.id]);

  return (
    <div class="share-portal">
      <h1>
        Case {share.case.number}: {share.case.title}
      </h1>
      <p class="muted">
        Shared by {share.from.name}, {share.from.organisation}. {LEVEL_LABELS[share.level]}, until {formatDateTime(share.expiresAt)}.
      </p>
      <section aria-labelledby="shared-items-heading">
        <h2 id="shared-items-heading">Shared evidence ({share.items.length})</h2>
        <ul class="share-items" aria-label="Shared evidence">
          {share.items.map((item) => {
            const label = labels?.get(item.id);
            const name = label?.fileName ?? `Item ${item.id.slice(0, 8)}`;
            return (
              <li key={item.id} class="card share-item">
                <h3>
                  <FileTypeIcon kind={fileKind(label?.mediaType)} /> {name}
                </h3>
                <p class="muted">
                  {label?.mediaType ?? "unknown type"} · {formatBytes(item.byteSize)} · added by {item.uploader} {formatDateTime(item.createdAt)}
                  {label?.capturedAt ? ` · captured ${formatDateTime(label.capturedAt)}` : ""}
                </p>
                {openId === item.id ? (
                  <SharedItemViewer share={share} item={item} name={name} shareKey={props.shareKey} auth={props.auth} onClose={() => setOpenId(undefined)} />
                ) : (
                  <button type="button" class="secondary" onClick={() => setOpenId(item.id)}>
                    Open<span class="visually-hidden"> {name}</span>
                  </button>
                )}
              </li>
            );
          })}
        </ul>
      </section>
      {share.level === "export" && (
        <CasePackagePanel
          caseDetail={share.case}
          origin={sharePackage(share, props.shareKey, props.auth, `${props.recipientName ?? share.recipient.label} (shared by ${share.from.name}, ${share.from.organisation})`)}
          loadItems={async () =>
            share.items.map((item) => ({ ref: { id: item.id, manifest: item.manifest, signerKid: item.signerKid }, name: labels?.get(item.id)?.fileName ?? `Item ${item.id.slice(0, 8)}`, byteSize: item.byteSize }))
          }
          hint="Each item's export is recorded in the sharer's audit trail."
        />
      )}
      <Receipt share={share} auth={props.auth} signReceipt={props.signReceipt} recipientName={props.recipientName} />
    </div>
  );
}

function timestampText(stamp: TimestampStatus | undefined): string {
  if (!stamp) return "Checking…";
  switch (stamp.state) {
    case "stamped":
      return `Timestamped by ${stamp.tsaName} at ${formatDateTime(stamp.genTime)}`;
    case "pending":
      return "Awaiting timestamp from the time-stamping authority.";
    case "failed":
      return "No timestamp: the time-stamping authority failed.";
    case "unconfigured":
      return "No time-stamping authority configured: the signing time is the uploader's device clock.";
  }
}

function failureText(caught: unknown): string {
  return caught instanceof OpenError ? `${caught.integrity ? "Verification failed" : "Couldn't open it"}: ${caught.what}: ${caught.message}` : messageOf(caught);
}

function SharedItemViewer(props: { share: ReceivedShare; item: SharedItem; name: string; shareKey: UnlockedKey; auth: RecipientAuth; onClose: () => void }) {
  const { share, item, auth } = props;
  const opener = useRef<EvidenceOpener | undefined>(undefined);
  const [step, setStep] = useState<OpenStep>();
  const [opened, setOpened] = useState<SharedOpenedEvidence>();
  /** The whole-file check, in the background while it plays: bytes checked so far, or done. */
  const [checked, setChecked] = useState<number | "verified">(0);
  const [failure, setFailure] = useState<string>();
  const [details, setDetails] = useState<EvidenceDetails | null>();
  const [stamp, setStamp] = useState<TimestampStatus>();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();

  useEffect(() => {
    const worker = new EvidenceOpener();
    opener.current = worker;
    let failed = false;
    // A failure at any time (a part, a segment, the size, the whole-file SHA-512) replaces the
    // player with what failed: nothing more is played, and the worker has dropped the plaintext.
    worker.onCheck((event: CheckEvent) => {
      if (event.type === "progress") setChecked(event.verifiedBytes);
      else if (event.type === "verified") setChecked("verified");
      else {
        failed = true;
        worker.dispose();
        setFailure(failureText(event.error));
      }
    });
    (async () => {
      if (!item.signerJwk) throw new OpenError(true, "manifest signer", "The signer's key is not known: the item can't be verified.");
      const signer: SignerKey = { kid: item.signerKid, publicJwk: item.signerJwk, owner: { type: "user", id: "", name: item.uploader }, createdAt: item.createdAt, retiredAt: null };
      const result = await worker.openShared(
        item,
        signer,
        async () => openFileKey(share, props.shareKey, await sharedApi.fileKey(auth, share.id, item.id)),
        (n) => sharedApi.part(auth, share.id, item.id, n),
        setStep,
      );
      if (failed) return;
      setOpened(result);
      setDetails(item.details ? await decryptDetails(item.details, result.fileKey).catch(() => null) : null);
      setStamp(await sharedApi.timestamp(auth, share.id, item.id).catch(() => undefined));
    })().catch((caught) => setFailure(failureText(caught)));
    return () => {
      worker.dispose();
      void forgetOpened(item.id).catch(() => undefined);
    };
  }, [item.id]);

  async function download() {
    if (!opened) return;
    setBusy(true);
    setError(undefined);
    try {
      await sharedApi.recordAccess(auth, share.id, item.id, "download");
      await opener.current!.saveOriginal(opened, packageFileName(opened.metadata.fileName));
    } catch (caught) {
      setError(`Couldn't download: ${messageOf(caught)}`);
    } finally {
      setBusy(false);
    }
  }

  async function exportPackage() {
    if (!opened || !opener.current) return;
    setBusy(true);
    setError(undefined);
    try {
      await sharedApi.recordAccess(auth, share.id, item.id, "export");
      const signerRegister = await sharedApi.signerRegister(auth, share.id, item.id);
      const stamp = await sharedApi.timestamp(auth, share.id, item.id).catch(() => null);
      const timestamp = stamp?.state === "stamped" ? { token: Uint8Array.from(atob(stamp.token), (c) => c.charCodeAt(0)), caPem: stamp.caPem } : undefined;
      const fileKey = await openFileKeyBytes(share, props.shareKey, await sharedApi.fileKey(auth, share.id, item.id));
      const zip = await opener.current.exportSharedPackage(opened, item.id, { signerRegister, fileKey, ...(timestamp ? { timestamp } : {}) });
      saveBlob(zip, `custody-${item.id.slice(0, 8)}-${packageFileName(opened.metadata.fileName)}.zip`);
    } catch (caught) {
      setError(caught instanceof OpenError ? `Couldn't build the package: ${caught.what}: ${caught.message}` : `Couldn't export: ${messageOf(caught)}`);
    } finally {
      setBusy(false);
    }
  }

  if (failure) {
    return (
      <div>
        <p role="alert" class="alert integrity-failed">
          {failure}
        </p>
        <button type="button" class="secondary" onClick={props.onClose}>
          Close
        </button>
      </div>
    );
  }
  if (!opened) {
    const pct = step?.step === "decrypt" && step.totalBytes > 0 ? Math.floor((step.plainBytes / step.totalBytes) * 100) : 0;
    return (
      <div class="opening" aria-live="polite">
        {step?.step === "decrypt" ? (
          <div class="progress">
            <div role="progressbar" aria-label="Decrypting and verifying" aria-valuemin={0} aria-valuemax={100} aria-valuenow={pct} class="progress-track">
              <div class="progress-fill" style={{ width: `${pct}%` }} />
            </div>
            <p class="progress-text">Decrypting and verifying… {pct} %</p>
          </div>
        ) : (
          <p>{step?.step === "key" ? "Releasing the key (this opening is recorded)…" : "Checking the signature…"}</p>
        )}
      </div>
    );
  }
  const type = opened.metadata.mediaType;
  const url = opened.url;
  const total = opened.manifest.byteSize;
  const pct = checked === "verified" ? 100 : total > 0 ? Math.floor((checked / total) * 100) : 0;
  const canDownload = share.level !== "view";
  return (
    <div class="stack">
      {checked !== "verified" && (
        <section class="checking" aria-label={`Checking integrity: ${props.name}`}>
          <ProgressBar label="Checking integrity" value={pct} text={`checking… ${pct} %`} />
          <p class="hint">It plays already: every part is checked against the signed manifest before it is shown. “Verified” appears when the whole file has matched.</p>
        </section>
      )}
      {checked === "verified" && <section class="verified-badge" aria-label={`Verified: ${props.name}`}>
        <h4>
          <span aria-hidden="true">✓ </span>Verified
        </h4>
        <dl>
          <dt>Signed by</dt>
          <dd>{item.uploader}</dd>
          <dt>Signed at</dt>
          <dd>{formatDateTime(opened.manifest.signedAt)}</dd>
          <dt>Trusted time</dt>
          <dd>{timestampText(stamp)}</dd>
          <dt>SHA-512</dt>
          <dd>
            <code title={opened.manifest.sha512}>
              {opened.manifest.sha512.slice(0, 16)}…{opened.manifest.sha512.slice(-16)}
            </code>
          </dd>
        </dl>
        <p class="hint">Every part, segment and the whole file matched the signed manifest.</p>
      </section>}
      {details && (details.title || details.description || details.tags.length > 0) && (
        <dl class="details" aria-label="Details">
          {details.title && (
            <>
              <dt>Title</dt>
              <dd>{details.title}</dd>
            </>
          )}
          {details.description && (
            <>
              <dt>Description</dt>
              <dd>{details.description}</dd>
            </>
          )}
          {details.tags.length > 0 && (
            <>
              <dt>Tags</dt>
              <dd>{details.tags.join(", ")}</dd>
            </>
          )}
        </dl>
      )}
      <div class="evidence-content">
        {type.startsWith("video/") && <video src={url} controls playsInline preload="metadata" aria-label={opened.metadata.fileName} />}
        {hasViewer(type) && <ContentViewer url={url} mediaType={type} fileName={opened.metadata.fileName} />}
        {!type.startsWith("video/") && !hasViewer(type) && <p class="muted">This file type ({type}) can't be shown in the app{canDownload ? ": download the original to open it" : ""}.</p>}
      </div>
      <div class="actions">
        {canDownload ? (
          <button type="button" class="primary" disabled={busy} onClick={() => void download()}>
            {busy ? "Preparing…" : "Download original"}
            <span class="visually-hidden"> of {props.name}</span>
          </button>
        ) : (
          <p class="hint">This share is for viewing in the app only.</p>
        )}
        {share.level === "export" && (
          <button type="button" class="secondary" disabled={busy} onClick={() => void exportPackage()}>
            {busy ? "Working…" : "Export court package"}
            <span class="visually-hidden"> of {props.name}</span>
          </button>
        )}
        <button type="button" class="secondary" onClick={props.onClose}>
          Close<span class="visually-hidden"> {props.name}</span>
        </button>
      </div>
      {error && (
        <p role="alert" class="alert">
          {error}
        </p>
      )}
    </div>
  );
}

function Receipt(props: { share: ReceivedShare; auth: RecipientAuth; signReceipt: (name: string) => Promise<string>; recipientName: string | null }) {
  const [receipts, setReceipts] = useState(props.share.receipts);
  const [name, setName] = useState(props.recipientName ?? "");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();

  async function sign(event: Event) {
    event.preventDefault();
    if (!name.trim()) return setError("Enter your name: it goes into the signed receipt.");
    setBusy(true);
    setError(undefined);
    try {
      const jws = await props.signReceipt(name.trim());
      await sharedApi.submitReceipt(props.auth, props.share.id, jws);
      setReceipts((await sharedApi.get(props.auth, props.share.id)).receipts);
    } catch (caught) {
      setError(`Couldn't sign the receipt: ${messageOf(caught)}`);
    } finally {
      setBusy(false);
    }
  }

  return (
    <section aria-labelledby="receipt-heading" class="card">
      <h2 id="receipt-heading">Receipt</h2>
      <p class="hint">
        Acknowledge that you received {props.share.items.length === 1 ? "this item" : `these ${props.share.items.length} items`}. Your browser signs a receipt naming each item and its SHA-512; the sender sees it, and anyone can check it offline.
      </p>
      {receipts.length > 0 && (
        <ul aria-label="Signed receipts">
          {receipts.map((receipt) => (
            <li key={receipt.id}>
              Signed by {receipt.recipientName}, {formatDateTime(receipt.receivedAt)}{" "}
              <button type="button" class="small" onClick={() => void sharedApi.receipt(props.auth, props.share.id, receipt.id).then((d) => saveReceipt(d, `receipt-${receipt.id.slice(0, 8)}`), (caught) => setError(messageOf(caught)))}>
                Download receipt
              </button>
            </li>
          ))}
        </ul>
      )}
      <form class="stack" onSubmit={(event) => void sign(event)}>
        {props.recipientName === null && (
          <label>
            Your name
            <input value={name} onInput={(event) => setName((event.currentTarget as HTMLInputElement).value)} autocomplete="name" />
          </label>
        )}
        <button type="submit" class="primary" disabled={busy} aria-busy={busy || undefined}>
          {busy ? "Signing…" : "Sign receipt"}
        </button>
      </form>
      {error && (
        <p role="alert" class="alert">
          {error}
        </p>
      )}
    </section>
  );
}
