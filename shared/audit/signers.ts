/**
 * The register of signing keys, as audit events (docs/audit.md §9): what a `keys.signer_register`
 * and a `keys.signer_retire` event say, and how a verifier reads a key's history from a verified
 * export of its events (a court package carries one). Pure.
 */
import type { AuditEvent } from "./chain";

export const SIGNER_REGISTER = "keys.signer_register";
export const SIGNER_RETIRE = "keys.signer_retire";

/**
 * Who holds a signing key: a user (id, name and email at registration), a site's connector, or a
 * submitter with no account (id: the submission, whose key was made in their browser for it; name
 * says through which link; registered when the first file they signed is accepted).
 */
export type SignerHolder =
  | { type: "user"; id: string; name: string; email: string }
  | { type: "site"; id: string; name: string }
  | { type: "submitter"; id: string; name: string; linkId: string };

/** A key's history as the log records it. */
export interface SignerRecord {
  kid: string;
  publicJwk: Record<string, unknown>;
  holder: SignerHolder;
  validFrom: string;
  registeredSeq: number;
  retiredAt: string | null;
  retiredSeq: number | null;
  /** Set when the entry was written after the fact for a key older than the register (docs/audit.md §9): when it was recorded. */
  backfilledAt: string | null;
}

/** Reads the register events of key `kid` from verified events; a text saying what is wrong when they do not make one history. */
export function signerRecord(events: AuditEvent[], kid: string): SignerRecord | string {
  const mine = events.filter((e) => e.target.type === "signing_key" && e.target.id === kid && e.outcome === "success");
  const registered = mine.filter((e) => e.action === SIGNER_REGISTER);
  const retired = mine.filter((e) => e.action === SIGNER_RETIRE);
  if (registered.length !== 1) return registered.length === 0 ? `the log has no registration of key ${kid}` : `key ${kid} is registered twice`;
  if (retired.length > 1) return `key ${kid} is retired twice`;
  const reg = registered[0]!;
  const d = reg.details as { kid?: unknown; publicJwk?: unknown; holder?: unknown; validFrom?: unknown; backfilled?: unknown };
  if (d.kid !== kid || typeof d.publicJwk !== "object" || d.publicJwk === null || typeof d.holder !== "object" || d.holder === null || typeof d.validFrom !== "string") {
    return "the registration event is malformed";
  }
  const ret = retired[0];
  const retiredAt = ret ? (ret.details as { retiredAt?: unknown }).retiredAt : null;
  if (ret && typeof retiredAt !== "string") return "the retirement event is malformed";
  return {
    kid,
    publicJwk: d.publicJwk as Record<string, unknown>,
    holder: d.holder as SignerHolder,
    validFrom: d.validFrom,
    registeredSeq: reg.seq,
    retiredAt: (retiredAt as string | null) ?? null,
    retiredSeq: ret?.seq ?? null,
    backfilledAt: d.backfilled === true ? reg.at : null,
  };
}
