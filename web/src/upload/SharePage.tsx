/**
 * "Add to case" for files shared to Custody from another app (the Web Share Target in the web
 * manifest): the service worker keeps them in IndexedDB (db.sharedFiles) and opens this page.
 * The user picks one of their open cases; the files then join the upload queue like picked
 * files (encrypted on this device first) and leave db.sharedFiles. Works offline too, for a
 * case saved on this device.
 */
import type { TargetedEvent } from "preact";
import { useEffect, useState } from "preact/hooks";
import type { CaseSummary } from "../../../shared/api/cases";
import type { SessionInfo } from "../../../shared/api/schemas";
import { casesApi } from "../cases/api";
import { db, type SharedFileRow } from "../db";
import { formatBytes } from "../ui/format";
import { FormAlert } from "../ui/forms";
import { useDeviceKeys } from "../keys/context";
import { caseHref, navigate } from "../ui/router";
import { PageHeading } from "../ui/layout";
import { addFiles } from "./queue";
import { messageOf } from "../ui/messages";
import { allPages } from "../ui/paging";

export function SharePage(props: { session: SessionInfo }) {
  const { keys } = useDeviceKeys();
  const [files, setFiles] = useState<SharedFileRow[]>();
  const [cases, setCases] = useState<CaseSummary[]>();
  const [caseId, setCaseId] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();

  useEffect(() => {
    db.sharedFiles.toArray().then(setFiles, () => setFiles([]));
    // The open cases you may add to, most recently changed first (up to 1,000).
    allPages((cursor) => casesApi.list({ status: "open", limit: "200", ...(cursor ? { cursor } : {}) }).then((page) => ({ items: page.cases, nextCursor: page.nextCursor })), 5).then(
      (all) => {
        const open = all.filter((c) => c.status === "open" && c.myRole !== "viewer");
        setCases(open);
        if (open.length === 1) setCaseId(open[0]!.id);
      },
      (caught: unknown) => setError(`Couldn't load your cases. ${messageOf(caught)}`),
    );
  }, []);

  async function add(event: TargetedEvent<HTMLFormElement>) {
    event.preventDefault();
    if (!files?.length) return;
    if (!caseId) return setError("Choose the case to add them to.");
    setBusy(true);
    setError(undefined);
    try {
      const detail = await casesApi.get(caseId);
      await addFiles(files.map((row) => row.file), { userId: props.session.user.id, caseDetail: detail, keys, shared: true });
      await db.sharedFiles.bulkDelete(files.map((row) => row.id!));
      navigate(caseHref(caseId));
    } catch (caught) {
      setError(`Couldn't add them: ${messageOf(caught)}`);
      setBusy(false);
    }
  }

  async function discard() {
    await db.sharedFiles.clear();
    navigate("/cases");
  }

  return (
    <>
      <PageHeading>Add to case</PageHeading>
      {files && files.length === 0 && (
        <p class="empty">
          Nothing was shared. To add a photo or video from your gallery, share it and choose Custody. <a href="/cases">Go to your cases</a>
        </p>
      )}
      {files && files.length > 0 && (
        <>
          <ul class="upload-list" aria-label="Shared files">
            {files.map((row) => (
              <li key={row.id} class="upload-item">
                <p class="upload-name">
                  <strong>{row.file.name || "shared file"}</strong> <span class="muted">{formatBytes(row.file.size)}</span>
                </p>
              </li>
            ))}
          </ul>
          <form aria-label="Add to case" onSubmit={(e) => void add(e)} noValidate>
            <div class="field">
              <label for="share-case">Case</label>
              <select id="share-case" value={caseId} onChange={(e: TargetedEvent<HTMLSelectElement>) => setCaseId(e.currentTarget.value)}>
                <option value="">Choose…</option>
                {(cases ?? []).map((c) => (
                  <option key={c.id} value={c.id}>
                    {c.number} · {c.title}
                  </option>
                ))}
              </select>
            </div>
            {cases && cases.length === 0 && <p class="muted">You have no open case you can add evidence to.</p>}
            <p class="hint">The files are encrypted and signed on this device before anything is sent.</p>
            <FormAlert message={error} />
            <div class="actions">
              <button type="submit" class="primary" disabled={busy}>
                {busy ? "Adding…" : `Add ${files.length === 1 ? "it" : `all ${files.length}`} to the case`}
              </button>
              <button type="button" disabled={busy} onClick={() => void discard()}>
                Discard
              </button>
            </div>
          </form>
        </>
      )}
    </>
  );
}
