/**
 * The audit chain's event form and hashing, shared by the Durable Object that writes it and
 * the tools that verify an export. Each event's `hash` is SHA-512 (hex) over the canonical
 * JSON (keys sorted, no whitespace) of the event without `hash`, which includes `prevHash`.
 */

export type AuditOutcome = "success" | "denied" | "failed";

export interface AuditEventInput {
  actor: { type: "user" | "agent" | "system" | "anonymous"; id: string | null; label?: string | null };
  action: string;
  target: { type: string; id: string | null };
  ip: string | null;
  userAgent: string | null;
  outcome: AuditOutcome;
  details: Record<string, unknown>;
}

export interface AuditEvent extends AuditEventInput {
  version: 1;
  seq: number;
  at: string;
  prevHash: string;
  hash: string;
}

export const GENESIS_HASH = "0".repeat(128);

/** Canonical JSON: object keys sorted, no insignificant whitespace, `undefined` dropped. */
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

/** Builds the stored event: numbered, timed, linked to its predecessor, hashed. */
export async function chainEvent(
  input: AuditEventInput,
  position: { seq: number; prevHash: string; at: string },
): Promise<AuditEvent> {
  const unhashed = { version: 1 as const, ...input, seq: position.seq, at: position.at, prevHash: position.prevHash };
  return { ...unhashed, hash: await sha512Hex(canonicalJson(unhashed)) };
}

/** Recomputes an event's hash; true when it matches what the event claims. */
export async function eventHashIsValid(event: AuditEvent): Promise<boolean> {
  const { hash, ...unhashed } = event;
  return (await sha512Hex(canonicalJson(unhashed))) === hash;
}
