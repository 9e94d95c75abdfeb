/**
 * The case package source of a case member (a lead): keys released to them and unwrapped in
 * this browser, parts and extracts fetched with their session. Each key release is the
 * audited view of that item, as opening it would be.
 */
import type { JWK } from "jose";
import { unwrapCaseKey, unwrapFileKeyBytes } from "../../../shared/crypto/index";
import { casesApi, evidenceApi } from "../cases/api";
import { fetchPart } from "../evidence/open";
import type { DeviceKeys } from "../keys/store";
import type { CasePackageSource, PackageItemRef } from "./build";

async function text(path: string, what: string): Promise<string> {
  const response = await fetch(path, { credentials: "same-origin" });
  if (!response.ok) throw new Error(`Couldn't fetch ${what} (HTTP ${response.status}). Try again when online.`);
  return response.text();
}

export function memberSource(keys: DeviceKeys): CasePackageSource {
  return {
    async fileKey(item: PackageItemRef) {
      const release = await evidenceApi.releaseKey(item.id);
      const caseKey = await unwrapCaseKey(release.caseKeyWrap, keys.encryption);
      return unwrapFileKeyBytes(release.fileKey, caseKey.privateKey);
    },
    signerKey: async (kid) => (await casesApi.signer(kid)).publicJwk as JWK,
    signerRegister: (kid) => text(`/api/audit/signers/${encodeURIComponent(kid)}`, "the signer's key register"),
    auditExtract: (item) => text(`/api/audit/evidence/${item.id}`, "the item's audit extract"),
    async timestamp(item) {
      const stamp = await evidenceApi.timestamp(item.id);
      return stamp.state === "stamped" ? { token: Uint8Array.from(atob(stamp.token), (c) => c.charCodeAt(0)), caPem: stamp.caPem } : undefined;
    },
    readPart: (item, n) => fetchPart(item.id, n),
    detailsVersions: async (item) => (await evidenceApi.detailsVersions(item.id)).versions,
  };
}
