/**
 * A signing key's entry in an organisation's key register, as `GET /api/audit/signers/<kid>`
 * exports it (docs/audit.md §9), made with the in-memory audit log: for unit tests that build
 * court packages without a worker.
 */
import type { JWK } from "jose";
import { generateLogKey, MemoryLog } from "../../shared/audit/memory-log";
import { keyId } from "../../shared/crypto/keys";

/** The register export of `publicJwk`'s registration to Jane Doe (user "u"…), valid from `validFrom`, JSON lines. */
export async function registerExport(publicJwk: JWK, validFrom: string, log?: MemoryLog): Promise<string> {
  const kid = await keyId(publicJwk);
  const audit = log ?? new MemoryLog("o".repeat(32), await generateLogKey());
  await audit.append({
    id: crypto.randomUUID().replaceAll("-", ""), at: validFrom, actor: { type: "user", id: "u".repeat(32), label: "jane@example.org" }, action: "keys.signer_register",
    target: { type: "signing_key", id: kid }, ip: null, userAgent: null, outcome: "success",
    details: { kid, publicJwk, holder: { type: "user", id: "u".repeat(32), name: "Jane Doe", email: "jane@example.org" }, validFrom },
  });
  await audit.checkpoint(validFrom);
  return (await audit.exportLines({ targetType: "signing_key", targetId: kid }, validFrom)).join("\n");
}
