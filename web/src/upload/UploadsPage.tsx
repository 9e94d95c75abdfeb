/**
 * The Uploads page: everything this device still has to send (each file's state: encrypting,
 * queued, waiting for a connection, uploading, paused until sign-in, failed, uploaded), what it
 * keeps offline, the views it recorded offline that the audit trail has not heard of yet, and
 * the storage it uses, with the request for persistent storage (so the browser does not clear
 * queued evidence to make room).
 */
import { useEffect, useRef, useState } from "preact/hooks";
import type { SessionInfo } from "../../../shared/api/schemas";
import { casesApi } from "../cases/api";
import type { KeptOfflineRow } from "../db";
import { formatBytes, formatDateTime } from "../ui/format";
import { pendingOfflineEvents } from "../offline/events";
import { forgetOffline, keptItems } from "../offline/kept";
import { useReachable } from "../offline/useReachable";
import { PageHeading } from "../ui/layout";
import { useUploadQueue } from "./queue";
import { caseHref } from "../ui/router";
import { UploadList } from "./UploadList";

interface StorageState {
  usage?: number;
  quota?: number;
  persisted?: boolean;
}

async function storageState(): Promise<StorageState> {
  const [estimate, persisted] = await Promise.all([
    navigator.storage?.estimate?.().catch(() => undefined),
    navigator.storage?.persisted?.().catch(() => undefined),
  ]);
  return { usage: estimate?.usage, quota: estimate?.quota, persisted };
}

function StorageSection() {
  const [state, setState] = useState<StorageState>();
  const [answer, setAnswer] = useState<string>();
  const { items } = useUploadQueue();
  // Recomputed as the queue changes (ciphertext comes and goes).
  useEffect(() => void storageState().then(setState), [items.length, items.filter((i) => i.row.state === "done").length]);

  async function persist() {
    const granted = await navigator.storage?.persist?.().catch(() => false);
    setAnswer(
      granted
        ? "Done: the browser will keep Custody's data on this device until you remove it."
        : "The browser did not agree this time. It decides from how the app is used: installing Custody (Add to home screen) usually makes it agree.",
    );
    setState(await storageState());
  }

  return (
    <section aria-labelledby="storage-heading">
      <h2 id="storage-heading">Storage on this device</h2>
      {state?.usage !== undefined && (
        <p>
          Custody uses {formatBytes(state.usage)}
          {state.quota !== undefined ? ` of the ${formatBytes(state.quota)} the browser allows it` : ""}.
        </p>
      )}
      {state?.persisted === true && <p>Persistent: the browser will not clear Custody's data to free space.</p>}
      {state?.persisted === false && (
        <>
          <p>Not persistent yet: if the device runs short of space, the browser may clear Custody's data, including evidence not uploaded yet.</p>
          <button type="button" onClick={() => void persist()}>
            Keep Custody's data on this device
          </button>
        </>
      )}
      {answer && (
        <p role="status" class="status">
          {answer}
        </p>
      )}
    </section>
  );
}

function KeptSection(props: { userId: string; caseLabels: Map<string, string>; onCaseIds: (ids: string[]) => void }) {
  const [items, setItems] = useState<KeptOfflineRow[]>();
  const reload = () =>
    void keptItems(props.userId).then(
      (kept) => {
        setItems(kept);
        props.onCaseIds(kept.map((item) => item.caseId));
      },
      () => setItems([]),
    );
  useEffect(reload, [props.userId]);
  if (!items || items.length === 0) return null;
  return (
    <section aria-labelledby="kept-heading">
      <h2 id="kept-heading">Kept offline</h2>
      <ul class="upload-list" aria-label="Kept offline">
        {items.map((item) => (
          <li key={item.evidenceId} class="upload-item">
            <p class="upload-name">
              <a href={caseHref(item.caseId, item.evidenceId)}>{item.fileName}</a> <span class="muted">{formatBytes(item.bytes)} encrypted</span>
            </p>
            <p class="muted">
              {props.caseLabels.get(item.caseId) ?? "Case"} · kept {formatDateTime(item.savedAt)}
            </p>
            <button
              type="button"
              aria-label={`Remove offline copy of ${item.fileName}`}
              onClick={() => void forgetOffline(item.evidenceId).then(reload)}
            >
              Remove offline copy
            </button>
          </li>
        ))}
      </ul>
    </section>
  );
}

export function UploadsPage(props: { session: SessionInfo }) {
  const userId = props.session.user.id;
  const { items } = useUploadQueue();
  const reachable = useReachable();
  const [caseLabels, setCaseLabels] = useState(new Map<string, string>());
  const [events, setEvents] = useState(0);
  // The cases of the queued and kept items, each looked up once (saved on the device for offline use).
  const asked = useRef(new Set<string>());
  function nameCases(ids: string[]) {
    for (const id of ids) {
      if (asked.current.has(id)) continue;
      asked.current.add(id);
      casesApi.get(id).then(
        (c) => setCaseLabels((known) => new Map(known).set(c.id, `${c.number} · ${c.title}`)),
        () => asked.current.delete(id),
      );
    }
  }
  useEffect(() => nameCases(items.map((item) => item.row.caseId)), [items]);
  useEffect(() => void pendingOfflineEvents(userId).then(setEvents, () => undefined), [userId, reachable]);

  return (
    <>
      <PageHeading>Uploads</PageHeading>
      {items.length === 0 ? (
        <p class="empty">Nothing waiting: every file added on this device has been uploaded.</p>
      ) : (
        <UploadList caseLabels={caseLabels} />
      )}
      {events > 0 && (
        <p class="status" role="status">
          {events} {events === 1 ? "viewing" : "viewings"} made offline will be sent to the audit trail when the device is back online.
        </p>
      )}
      <KeptSection userId={userId} caseLabels={caseLabels} onCaseIds={nameCases} />
      <StorageSection />
    </>
  );
}
