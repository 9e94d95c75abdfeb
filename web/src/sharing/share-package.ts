/**
 * The case package of a share (docs/disclosure.md §2, level export): the same package a case's
 * lead builds (web/src/casepkg/build.ts), its pieces fetched through the share's own routes with
 * the recipient's session (a guest's cookie or a link session's token): file keys unwrapped here
 * with the share key, ciphertext parts, the signer's key (in the share) and register, the item's
 * audit extract and timestamp. Each item is recorded as a share export before anything is built.
 */
import type { JWK } from "jose";
import type { ReceivedShare } from "../../../shared/api/shares";
import type { UnlockedKey } from "../../../shared/crypto/index";
import type { CasePackageSource, PackageItemRef } from "../casepkg/build";
import type { PackageOrigin } from "../casepkg/CasePackagePanel";
import { sharedApi, type RecipientAuth } from "./api";
import { openFileKeyBytes } from "./crypto";

export function sharePackage(share: ReceivedShare, shareKey: UnlockedKey, auth: RecipientAuth, exportedBy: string): PackageOrigin {
  const itemOfSigner = (kid: string) => {
    const item = share.items.find((i) => i.signerKid === kid);
    if (!item) throw new Error("No shared item is signed with this key.");
    return item;
  };
  const source: CasePackageSource = {
    fileKey: async (item: PackageItemRef) => openFileKeyBytes(share, shareKey, await sharedApi.fileKey(auth, share.id, item.id)),
    async signerKey(kid) {
      const jwk = itemOfSigner(kid).signerJwk;
      if (!jwk) throw new Error("The signer's key is not known: the item can't be verified.");
      return jwk as JWK;
    },
    signerRegister: (kid) => sharedApi.signerRegister(auth, share.id, itemOfSigner(kid).id),
    auditExtract: (item) => sharedApi.auditExtract(auth, share.id, item.id),
    async timestamp(item) {
      const stamp = await sharedApi.timestamp(auth, share.id, item.id);
      return stamp.state === "stamped" ? { token: Uint8Array.from(atob(stamp.token), (c) => c.charCodeAt(0)), caPem: stamp.caPem } : undefined;
    },
    readPart: (item, n) => sharedApi.part(auth, share.id, item.id, n),
  };
  return {
    exportedBy,
    source,
    record: async (ids) => {
      for (const id of ids) await sharedApi.recordAccess(auth, share.id, id, "export");
    },
  };
}
