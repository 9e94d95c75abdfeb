import type { PublicJwk } from "../../../shared/api/schemas";
import type { SignerHolder } from "../../../shared/audit/signers";
import { SIGNER_REGISTER, SIGNER_RETIRE } from "../../../shared/audit/signers";
import type { AuditRecord } from "./audit";

/**
 * The register of signing keys is the audit log (docs/audit.md §9): registering a key is a
 * `keys.signer_register` event carrying the public key, its holder and the time from which it
 * signs; retiring one (replaced) is a `keys.signer_retire` event. Both target the key itself
 * (`signing_key`, its kid), so `targetType=signing_key&targetId=<kid>` exports a key's whole story.
 */
export function signerRegistered(holder: SignerHolder, key: { kid: string; publicJwk: PublicJwk }, validFrom: string, replaces: string | null): AuditRecord {
  return {
    action: SIGNER_REGISTER,
    target: { type: "signing_key", id: key.kid },
    details: { kid: key.kid, publicJwk: key.publicJwk, holder, validFrom, ...(replaces ? { replaces } : {}) },
  };
}

export function signerRetired(holder: SignerHolder, kid: string, retiredAt: string, replacedBy: string): AuditRecord {
  return { action: SIGNER_RETIRE, target: { type: "signing_key", id: kid }, details: { kid, holder, retiredAt, replacedBy } };
}
