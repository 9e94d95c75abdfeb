/**
 * The audit chain (docs/audit.md): the event form, its canonical JSON, its hash, the signed
 * checkpoint constants. The Merkle tree over the same events is in merkle.ts, the signed forms
 * and the verifier of an export in export.ts. WebCrypto only.
 */

export type AuditOutcome = "success" | "denied" | "failed";

export interface AuditActor {
  type: "user" | "agent" | "system" | "anonymous";
  id: string | null;
  /** A human-readable name at the time (email for users), for reports. */
  label?: string | null;
}

/** What a route records. */
export interface AuditEventInput {
  actor: AuditActor;
  action: string;
  target: { type: string; id: string | null };
  ip: string | null;
  userAgent: string | null;
  outcome: AuditOutcome;
  details: Record<string, unknown>;
}

/** An event as it stands in the chain. `hash` covers every other member. */
export interface AuditEvent extends AuditEventInput {
  version: 1;
  /** Unique id given when the action happened (also the outbox key: appending is idempotent). */
  id: string;
  /** Position in the organisation's chain: 1, 2, 3, … with no gaps. */
  seq: number;
  /** When the action happened (server time; for offline-recorded events, when the server received it). */
  at: string;
  /** For events recorded on a device while offline: the device's time of the action. */
  recordedOffline?: { at: string };
  /** SHA-512 (hex) of the previous event; 128 zeros for the first. */
  prevHash: string;
  hash: string;
}

export const GENESIS_HASH = "0".repeat(128);
export const CHECKPOINT_TYP = "custody-audit-checkpoint+jws";
/** A checkpoint is signed every this many events, and at least hourly when there are new ones. */
export const CHECKPOINT_EVERY_EVENTS = 1000;
export const CHECKPOINT_EVERY_MS = 60 * 60 * 1000;

/** Canonical JSON: object keys sorted by UTF-16 code unit, no insignificant whitespace, `undefined` members dropped. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map((item) => canonicalJson(item ?? null)).join(",")}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
}

async function sha512Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-512", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** The hash an event must carry: SHA-512 (hex) of the canonical JSON of the event without `hash`. */
export function eventHash(event: Omit<AuditEvent, "hash">): Promise<string> {
  return sha512Hex(canonicalJson(event));
}

/** Builds the stored event: numbered, linked to its predecessor, hashed. */
export async function chainEvent(
  input: AuditEventInput & { id: string; at: string; recordedOffline?: { at: string } },
  position: { seq: number; prevHash: string },
): Promise<AuditEvent> {
  const unhashed: Omit<AuditEvent, "hash"> = { version: 1, ...input, seq: position.seq, prevHash: position.prevHash };
  return { ...unhashed, hash: await eventHash(unhashed) };
}

/** Recomputes an event's hash; true when it matches what the event claims. */
export async function eventHashIsValid(event: AuditEvent): Promise<boolean> {
  const { hash, ...unhashed } = event;
  return (await eventHash(unhashed)) === hash;
}
