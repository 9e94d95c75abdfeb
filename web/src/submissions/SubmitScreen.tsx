/**
 * /submit/<link id>#<submission key id>: a submission link's public page, with no account
 * (docs/submissions.md). It shows who asks, what for, the limits and until when, after checking
 * that the key the server hands out is the one the link names (the fragment, never sent). Then
 * the submitter adds files (any size), optionally their name, contact and a statement, and sends:
 * everything is encrypted in this browser (send.ts), with progress, time left, resuming after a
 * reload, and a receipt to download at the end.
 */
import { useEffect, useMemo, useState } from "preact/hooks";
import type { PublicSubmissionLink } from "../../../shared/api/submissions";
import { ciphertextSize } from "../../../shared/crypto/index";
import { submissionKeyMatches } from "../../../shared/crypto/submission";
import type { SubmissionSendRow } from "../db";
import { formatBytes, formatDateTime, formatDuration } from "../ui/format";
import { Field, FormAlert, TextArea } from "../ui/forms";
import { PublicLayout } from "../ui/layout";
import { ProgressBar } from "../ui/progress";
import { submissionsApi } from "./api";
import { Sender, discardSubmission, receiptText, refusalMessage, startSubmission, storedSubmission, type SendingState } from "./send";
import "./submissions.css";
import { RequestDetails } from "./RequestDetails";

type State = { kind: "loading" } | { kind: "refused"; message: string; receipt?: SubmissionSendRow } | { kind: "open"; link: PublicSubmissionLink; stored?: SubmissionSendRow };

export function SubmitScreen(props: { linkId: string }) {
  const [kid] = useState(() => location.hash.replace(/^#/, ""));
  const [state, setState] = useState<State>({ kind: "loading" });

  useEffect(() => {
    if (!kid) {
      setState({ kind: "refused", message: "This link is incomplete: the part after “#” is missing. Open the full link you were sent, or scan the QR code again." });
      return;
    }
    let stored: SubmissionSendRow | undefined;
    void (async () => {
      try {
        stored = await storedSubmission(props.linkId).catch(() => undefined);
        const link = await submissionsApi.open(props.linkId);
        if (!(await submissionKeyMatches(link.submissionKey, kid))) {
          setState({ kind: "refused", message: "This link does not match the key the server offers, so nothing will be sent. Open the full link you were sent; if it still fails, tell whoever sent it." });
          return;
        }
        setState({ kind: "open", link, ...(stored ? { stored } : {}) });
      } catch (caught) {
        // A finished submission's receipt stays readable even once the link has closed.
        setState({ kind: "refused", message: refusalMessage(caught), ...(stored?.receipt ? { receipt: stored } : {}) });
      }
    })();
  }, [props.linkId, kid]);

  return (
    <PublicLayout>
      <h1>Send evidence</h1>
      {state.kind === "loading" && (
        <p class="muted" aria-busy="true">
          Opening the link…
        </p>
      )}
      {state.kind === "refused" && (
        <p role="alert" class="alert">
          {state.message}
        </p>
      )}
      {state.kind === "refused" && state.receipt && <Receipt row={state.receipt} />}
      {state.kind === "open" && <OpenLink link={state.link} stored={state.stored} />}
    </PublicLayout>
  );
}

/** The link is open: a new submission, one to go on with, or the receipt of the last one. */
function OpenLink(props: { link: PublicSubmissionLink; stored: SubmissionSendRow | undefined }) {
  const [sender, setSender] = useState<Sender>();
  const [stored, setStored] = useState(props.stored);
  const { link } = props;

  useEffect(() => () => sender?.stop(), [sender]);

  let body;
  if (sender) {
    body = (
      <Sending
        sender={sender}
        onSendMore={() => void discardSubmission(sender.state.row).then(() => {
          setSender(undefined);
          setStored(undefined);
        })}
      />
    );
  } else if (stored?.receipt) {
    body = <Receipt row={stored} onDismiss={() => void discardSubmission(stored).then(() => setStored(undefined))} />;
  } else if (stored) {
    body = (
      <Resume
        row={stored}
        link={link}
        onResume={(resumed) => setSender(resumed)}
        onDiscard={() => void discardSubmission(stored).then(() => setStored(undefined))}
      />
    );
  } else {
    body = <NewSubmission link={link} onStarted={setSender} />;
  }
  return (
    <div class="stack submissions">
      <p>
        <strong>{link.organisation}</strong> asks:
      </p>
      <p class="instructions">{link.instructions}</p>
      <RequestDetails request={link.request} />
      <p class="muted">
        Up to {link.maxFiles} {link.maxFiles === 1 ? "file" : "files"}, {formatBytes(link.maxBytes)} in all, until {formatDateTime(link.expiresAt)}.
      </p>
      {body}
    </div>
  );
}

function NewSubmission(props: { link: PublicSubmissionLink; onStarted: (sender: Sender) => void }) {
  const [files, setFiles] = useState<File[]>([]);
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const total = files.reduce((sum, f) => sum + f.size, 0);

  function add(list: FileList | null) {
    if (!list) return;
    setFiles((before) => [...before, ...Array.from(list).filter((f) => !before.some((b) => b.name === f.name && b.size === f.size && b.lastModified === f.lastModified))]);
  }

  async function sendAll(event: Event) {
    event.preventDefault();
    setError(undefined);
    if (files.length === 0) return setError("Add at least one file to send.");
    if (files.some((f) => f.size === 0)) return setError("One of the files is empty. Remove it and add the right one.");
    if (files.length > props.link.maxFiles) return setError(`This link takes at most ${props.link.maxFiles} files. Remove some.`);
    if (total > props.link.maxBytes) return setError(`This link takes at most ${formatBytes(props.link.maxBytes)} in all. Remove some files.`);
    const form = new FormData(event.currentTarget as HTMLFormElement);
    const text = (name: string) => String(form.get(name) ?? "");
    setBusy(true);
    try {
      const { row, picked } = await startSubmission(props.link, files, { name: text("name"), contact: text("contact"), statement: text("statement") });
      const sender = new Sender(row, props.link, picked);
      props.onStarted(sender);
      void sender.run();
    } catch (caught) {
      setError(refusalMessage(caught));
      setBusy(false);
    }
  }

  return (
    <form class="submit-form" aria-label="Send files" onSubmit={(event) => void sendAll(event)} noValidate>
      <div class="field">
        <label for="submit-files">Photos, videos or documents</label>
        <p class="hint" id="submit-files-hint">
          Any size. Each file is encrypted on this device before it is sent: only the investigators can open it.
        </p>
        <input id="submit-files" type="file" multiple aria-describedby="submit-files-hint" onChange={(event) => {
          add(event.currentTarget.files);
          event.currentTarget.value = "";
        }} />
      </div>
      {files.length > 0 && (
        <ul class="picked" aria-label="Files to send">
          {files.map((file) => (
            <li key={`${file.name} ${file.size} ${file.lastModified}`}>
              <span>
                {file.name} <span class="muted">{formatBytes(file.size)}</span>
              </span>
              <button type="button" aria-label={`Remove ${file.name}`} onClick={() => setFiles((before) => before.filter((f) => f !== file))}>
                Remove
              </button>
            </li>
          ))}
        </ul>
      )}
      <p class="muted">Optional: who you are and what you saw. This too is encrypted before it is sent.</p>
      <Field name="name" label="Your name (optional)" autoComplete="name" required={false} />
      <Field name="contact" label="Phone or email (optional)" autoComplete="email" required={false} hint="So the investigators can reach you about what you send." />
      <TextArea name="statement" label="What does it show? (optional)" />
      <FormAlert message={error} />
      <button type="submit" class="primary" disabled={busy}>
        {busy ? "Starting…" : files.length > 1 ? `Send ${files.length} files` : "Send"}
      </button>
    </form>
  );
}

/** An unfinished submission on this device: go on (picking again any file whose encryption was cut short), or discard. */
function Resume(props: { row: SubmissionSendRow; link: PublicSubmissionLink; onResume: (sender: Sender) => void; onDiscard: () => void }) {
  const sender = useMemo(() => new Sender(props.row, props.link), [props.row, props.link]);
  const [, redraw] = useState(0);
  const [error, setError] = useState<string>();
  useEffect(() => sender.subscribe(() => redraw((n) => n + 1)), [sender]);
  const missing = sender.missingFiles();
  const done = props.row.files.filter((f) => f.state === "complete").length;
  return (
    <section class="stack resume" aria-labelledby="resume-heading">
      <h2 id="resume-heading">Continue sending</h2>
      <p>
        This device was sending {props.row.files.length} {props.row.files.length === 1 ? "file" : "files"} to {props.row.organisation}
        {done > 0 ? ` (${done} sent)` : ""}. What was already sent is kept: only the rest goes now.
      </p>
      {missing.map((file) => (
        <div class="field" key={file.fileId}>
          <label for={`again-${file.fileId}`}>Pick {file.fileName} again ({formatBytes(file.byteSize)})</label>
          <p class="hint">It was still being encrypted when the page closed.</p>
          <input id={`again-${file.fileId}`} type="file" onChange={(event) => {
            const picked = event.currentTarget.files?.[0];
            if (picked && !sender.pickAgain(file.fileId, picked)) setError(`That is not the same file as ${file.fileName} (its size differs). Pick ${file.fileName}.`);
            else setError(undefined);
          }} />
        </div>
      ))}
      <FormAlert message={error} />
      <div class="actions">
        <button type="button" class="primary" disabled={missing.length > 0} onClick={() => {
          props.onResume(sender);
          void sender.run();
        }}>
          Continue sending
        </button>
        <button type="button" onClick={() => {
          if (confirm("Discard what this device holds of this upload? What was already sent stays with the investigators, but this upload cannot be finished.")) props.onDiscard();
        }}>
          Start again
        </button>
      </div>
    </section>
  );
}

function percent(part: number, whole: number): number {
  return whole > 0 ? Math.min(100, Math.floor((part / whole) * 100)) : 100;
}

/** Progress of a submission being sent, and its receipt once finished. */
function Sending(props: { sender: Sender; onSendMore: () => void }) {
  const [state, setState] = useState<SendingState>(() => ({ ...props.sender.state }));
  useEffect(() => {
    let frame = 0;
    return props.sender.subscribe(() => {
      if (frame) return;
      frame = requestAnimationFrame(() => {
        frame = 0;
        setState({ ...props.sender.state });
      });
    });
  }, [props.sender]);

  // Leaving mid-send keeps what was sent and offers to go on, but the browser still asks first.
  const sending = !state.row.receipt;
  useEffect(() => {
    if (!sending) return;
    const warn = (event: BeforeUnloadEvent) => event.preventDefault();
    addEventListener("beforeunload", warn);
    return () => removeEventListener("beforeunload", warn);
  }, [sending]);

  if (state.row.receipt) {
    return (
      <>
        {state.error && (
          <p role="alert" class="alert">
            {state.error}
          </p>
        )}
        <Receipt row={state.row} onDismiss={props.onSendMore} />
      </>
    );
  }
  const progress = [...state.progress.values()];
  const total = progress.reduce((sum, p) => sum + p.totalBytes, 0);
  const sent = progress.reduce((sum, p) => sum + p.sentBytes, 0);
  const overall = percent(sent, total);
  return (
    <section class="stack sending" aria-labelledby="sending-heading">
      <h2 id="sending-heading">Sending to {state.row.organisation}</h2>
      <ProgressBar
        label="Overall"
        value={overall}
        text={`${overall} %${state.speed > 0 && sent < total ? ` · ${formatBytes(state.speed)}/s · ${formatDuration((total - sent) / state.speed)} left` : ""}`}
      />
      <ul class="sending-list" aria-label="Files being sent">
        {state.row.files.map((file) => {
          const p = state.progress.get(file.fileId) ?? { encryptedBytes: 0, sentBytes: 0, totalBytes: ciphertextSize(file.byteSize) };
          return (
            <li key={file.fileId}>
              <p>
                <strong>{file.fileName}</strong> <span class="muted">{formatBytes(file.byteSize)}</span>
              </p>
              {file.state === "encrypting" ? (
                <ProgressBar label={`Encrypting ${file.fileName}`} value={percent(p.encryptedBytes, file.byteSize)} text={`Encrypting on this device… ${percent(p.encryptedBytes, file.byteSize)} %`} />
              ) : file.state === "uploading" ? (
                <ProgressBar label={`Sending ${file.fileName}`} value={percent(p.sentBytes, p.totalBytes)} text={`${percent(p.sentBytes, p.totalBytes)} %${state.speed > 0 && p.sentBytes > 0 && p.sentBytes < p.totalBytes ? ` · ${formatDuration((p.totalBytes - p.sentBytes) / state.speed)} left` : ""}`} />
              ) : (
                <p class="status">Sent and checked by the server.</p>
              )}
            </li>
          );
        })}
      </ul>
      {state.note && (
        <p class="notice" role="status">
          {state.note}
        </p>
      )}
      {state.error && (
        <p role="alert" class="alert">
          {state.error}
        </p>
      )}
      {!state.running && state.error && (
        <button type="button" onClick={() => void props.sender.run()}>
          Try again
        </button>
      )}
      {state.running && <p class="muted">Keep this page open until it says “Sent”. If it closes, open the link again on this device to go on.</p>}
    </section>
  );
}

/** What was sent: each file's name, size and SHA-512, the time and the organisation; downloadable. */
function Receipt(props: { row: SubmissionSendRow; onDismiss?: () => void }) {
  const receipt = props.row.receipt!;
  const href = useMemo(() => URL.createObjectURL(new Blob([receiptText(props.row)], { type: "text/plain;charset=utf-8" })), [props.row]);
  useEffect(() => () => URL.revokeObjectURL(href), [href]);
  return (
    <section class="stack receipt" aria-labelledby="receipt-heading">
      <h2 id="receipt-heading">Sent</h2>
      <p role="status">
        {receipt.files.length} {receipt.files.length === 1 ? "file" : "files"} sent to <strong>{props.row.organisation}</strong> on {formatDateTime(receipt.sentAt)}. Thank you.
      </p>
      <ul class="receipt-list" aria-label="Receipt">
        {receipt.files.map((file, i) => (
          <li key={i}>
            <p>
              <strong>{file.fileName}</strong> <span class="muted">{formatBytes(file.byteSize)}</span>
            </p>
            <p class="hash">
              SHA-512: <code>{file.sha512}</code>
            </p>
          </li>
        ))}
      </ul>
      <p class="muted">
        The SHA-512 is each file's fingerprint: it shows later that the file the investigators hold is the one you sent. Nothing you sent is kept on this device any more.
      </p>
      <div class="actions">
        <a class="button primary" href={href} download={`custody-receipt-${props.row.submissionId}.txt`}>
          Download receipt
        </a>
        {props.onDismiss && (
          <button type="button" onClick={props.onDismiss}>
            Send more
          </button>
        )}
      </div>
    </section>
  );
}
