/** The upload queue as a list: each file's progress, what it waits for, Retry and Cancel. */
import { useState } from "preact/hooks";
import { FileTypeIcon, fileKind } from "../ui/file-type";
import { useReachable } from "../offline/useReachable";
import { formatBytes, formatDuration } from "../ui/format";
import { messageOf } from "../ui/messages";
import { ProgressBar } from "../ui/progress";
import { caseHref } from "../ui/router";
import { cancelUpload, dismissFinished, retryUpload, useUploadQueue, type QueueItem } from "./queue";
import "./upload.css";

function percent(part: number, whole: number): number {
  return whole > 0 ? Math.min(100, Math.floor((part / whole) * 100)) : 100;
}

function uploadText(item: QueueItem): string {
  const pct = percent(item.live.sentBytes, item.totalBytes);
  const parts = [`${pct} %`];
  if (item.live.speed > 0) {
    parts.push(`${formatBytes(item.live.speed)}/s`);
    parts.push(`${formatDuration((item.totalBytes - item.live.sentBytes) / item.live.speed)} left`);
  }
  return parts.join(" · ");
}

/** The upload queue: of one case (on its page), or of every case (the Uploads page, `caseLabels` naming them). */
export function UploadList(props: { caseId?: string; caseLabels?: Map<string, string> }) {
  const { items, paused } = useUploadQueue(props.caseId);
  const reachable = useReachable();
  if (items.length === 0) return null;
  const active = items.filter((i) => i.row.state === "uploading" || i.row.state === "encrypting");
  const total = active.reduce((sum, i) => sum + i.totalBytes, 0);
  const sent = active.reduce((sum, i) => sum + i.live.sentBytes, 0);
  const speed = active.reduce((sum, i) => sum + i.live.speed, 0);
  const overall = percent(sent, total);
  const done = items.filter((i) => i.row.state === "done").length;
  return (
    <section aria-labelledby="uploads-heading" class="uploads">
      <h3 id="uploads-heading">{props.caseId ? "Uploads" : "Queue"}</h3>
      {paused && (
        <p role="alert" class="alert">
          {paused}
        </p>
      )}
      {active.length > 0 && (
        <ProgressBar
          label="Overall upload"
          value={overall}
          text={`${active.length} ${active.length === 1 ? "file" : "files"}: ${overall} %${speed > 0 ? ` · ${formatBytes(speed)}/s · ${formatDuration((total - sent) / speed)} left` : ""}`}
        />
      )}
      <ul class="upload-list" aria-label="Upload queue">
        {items.map((item) => (
          <UploadItem key={item.row.evidenceId} item={item} paused={!!paused} reachable={reachable} caseLabel={props.caseLabels?.get(item.row.caseId)} />
        ))}
      </ul>
      {done > 0 && (
        <button type="button" onClick={() => dismissFinished(props.caseId)}>
          Clear finished uploads
        </button>
      )}
    </section>
  );
}

/** What an item waiting in the queue is waiting for, in words. */
function waitingText(item: QueueItem, paused: boolean, reachable: boolean): string | undefined {
  if (item.row.state !== "uploading" || item.running) return undefined;
  if (paused) return "Paused: sign in again and it continues.";
  if (!reachable) return "Encrypted on this device. Waiting for a connection: it uploads by itself when the device is back online.";
  return "Encrypted on this device. Queued: it uploads after the files before it.";
}

function UploadItem(props: { item: QueueItem; paused: boolean; reachable: boolean; caseLabel?: string | undefined }) {
  const { row, live } = props.item;
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  async function cancel() {
    setBusy(true);
    setError(undefined);
    try {
      await cancelUpload(row.evidenceId);
    } catch (caught) {
      setError(`Couldn't cancel: ${messageOf(caught)}`);
      setBusy(false);
    }
  }
  const waiting = waitingText(props.item, props.paused, props.reachable);
  return (
    <li class="upload-item">
      <p class="upload-name">
        <FileTypeIcon kind={fileKind(row.mediaType)} /> <strong>{row.fileName}</strong> <span class="muted">{formatBytes(row.byteSize)}</span>
      </p>
      {props.caseLabel !== undefined && (
        <p class="muted">
          <a href={caseHref(row.caseId)}>{props.caseLabel}</a>
        </p>
      )}
      {row.state === "encrypting" && (
        <ProgressBar label={`Encrypting ${row.fileName}`} value={percent(live.encryptedBytes, row.byteSize)} text={`Encrypting… ${percent(live.encryptedBytes, row.byteSize)} %`} />
      )}
      {row.state === "uploading" && props.item.running && <ProgressBar label={`Uploading ${row.fileName}`} value={percent(live.sentBytes, props.item.totalBytes)} text={uploadText(props.item)} />}
      {waiting && (
        <p class="status" role="status">
          {waiting}
        </p>
      )}
      {row.state === "done" && <p class="status">Uploaded and verified by the server.</p>}
      {row.state === "failed" && (
        <p role="alert" class="alert">
          {row.error}
        </p>
      )}
      {live.note && row.state === "uploading" && props.item.running && (
        <p class="notice" role="status">
          {live.note}
        </p>
      )}
      {error && (
        <p role="alert" class="alert">
          {error}
        </p>
      )}
      {row.state !== "done" && (
        <div class="actions">
          {row.state === "failed" && row.request && (
            <button type="button" onClick={() => void retryUpload(row.evidenceId)} aria-label={`Retry ${row.fileName}`}>
              Retry
            </button>
          )}
          <button type="button" disabled={busy} onClick={() => void cancel()} aria-label={`Cancel ${row.fileName}`}>
            Cancel
          </button>
        </div>
      )}
    </li>
  );
}
