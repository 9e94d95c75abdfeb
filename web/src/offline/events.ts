/**
 * Things done on this device while offline that the audit trail must hear of (today: opening
 * evidence kept offline). Each is written to IndexedDB (db.offlineEvents) with an id made here,
 * and sent to `POST /api/audit/offline-events` as soon as the server can be reached; the row is
 * deleted only once the server has answered. The server records each id once, so an event sent
 * again because its answer was lost is not recorded twice: exactly once in the audit trail.
 */
import { sendOfflineEvents } from "../audit/api";
import { ApiError } from "../api/client";
import { isReachable } from "../api/connectivity";
import { db, type OfflineEventRow } from "../db";

/** The server takes up to 100 events a request. */
const BATCH = 100;

function newEventId(): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Records that `userId` did `action` on `evidenceId` from its offline copy, and sends it if the server can be reached. */
export async function recordOffline(userId: string, action: OfflineEventRow["action"], evidenceId: string, details: OfflineEventRow["details"]): Promise<void> {
  await db.offlineEvents.put({ id: newEventId(), userId, action, evidenceId, at: new Date().toISOString(), details });
  void flushOfflineEvents(userId);
}

/** Records that `userId` opened `evidenceId` from its offline copy. */
export function recordOfflineView(userId: string, evidenceId: string, details: OfflineEventRow["details"]): Promise<void> {
  return recordOffline(userId, "evidence.view", evidenceId, details);
}

/** How many events of `userId` wait to be sent. */
export function pendingOfflineEvents(userId: string): Promise<number> {
  return db.offlineEvents.where("userId").equals(userId).count();
}

let flushing: Promise<void> | undefined;

function toSent(e: OfflineEventRow) {
  return { id: e.id, action: e.action, target: { type: "evidence" as const, id: e.evidenceId }, at: e.at, details: e.details };
}

/** The server's final no to an event (not "try later": a clock ahead, an unreachable server, an ended session). */
function isRefusal(caught: unknown): boolean {
  return caught instanceof ApiError && caught.code === "offline_event_refused";
}

/** Sends `userId`'s recorded events, oldest first; what cannot be sent now stays for the next time. */
export function flushOfflineEvents(userId: string): Promise<void> {
  flushing ??= (async () => {
    try {
      while (isReachable()) {
        const batch = (await db.offlineEvents.where("userId").equals(userId).toArray()).sort((a, b) => a.at.localeCompare(b.at)).slice(0, BATCH);
        if (batch.length === 0) return;
        try {
          await sendOfflineEvents({ events: batch.map(toSent) });
          await db.offlineEvents.bulkDelete(batch.map((e) => e.id));
        } catch (caught) {
          if (!isRefusal(caught)) throw caught;
          // The server takes a batch whole or not at all, and refused this one: one of its events names
          // evidence it says this user could not open then (removed from the case since, say). Sent one
          // at a time, the rest are recorded, and a refused one is dropped: its refusal is on the record
          // (audit.offline_refused), and kept it would hold back every event behind it for ever.
          for (const event of batch) {
            try {
              await sendOfflineEvents({ events: [toSent(event)] });
            } catch (alone) {
              if (!isRefusal(alone)) throw alone;
            }
            await db.offlineEvents.delete(event.id);
          }
        }
      }
    } catch {
      // Unreachable, or the session ended: the events stay and go next time.
    } finally {
      flushing = undefined;
    }
  })();
  return flushing;
}
