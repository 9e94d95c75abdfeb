/** Filing a capture into a case, in the browser (docs/evidence-format.md §6.2). */
import type { CaseDetail, EvidenceSummary } from "../../../shared/api/cases";
import { decryptLabel, encryptLabel, manifestDigest, rewrapFileKey, signFiling, unwrapFileKey } from "../../../shared/crypto/index";
import { evidenceApi } from "../cases/api";
import { encryptDetails, encryptDetailsToCase } from "../evidence/details";
import type { DeviceKeys } from "../keys/store";
import { capturesApi } from "./api";

export interface FilingChoices {
  title: string;
  tags: string[];
  categoryId?: string;
}

/**
 * Files `item` (one of the user's captures) into `target`: the file key and label, wrapped to the
 * user's own key, are re-wrapped to the case key; title and tags become the item's first details
 * (under the same file key); the filing record is signed with the user's signing key.
 */
export async function fileCapture(item: EvidenceSummary, target: CaseDetail, choices: FilingChoices, keys: DeviceKeys, userId: string): Promise<EvidenceSummary> {
  const release = await evidenceApi.releaseKey(item.id);
  const fileKeyJwe = await rewrapFileKey(release.fileKey, keys.encryption, target.caseKey.publicJwk);
  const { v: _v, ...label } = await decryptLabel(item.label!, keys.encryption);
  const withDetails = choices.title !== "" || choices.tags.length > 0;
  const chosen = { title: choices.title, description: "", tags: choices.tags };
  const details = withDetails ? await encryptDetails(chosen, await unwrapFileKey(release.fileKey, keys.encryption)) : undefined;
  // The members' copy, to the case key: the case's list and search show the title and tags without opening the item.
  const detailsCaseCopy = withDetails ? await encryptDetailsToCase(chosen, target.caseKey.publicJwk) : undefined;
  const filing = await signFiling(
    { evidenceId: item.id, fromCaseId: item.caseId, caseId: target.id, manifestSha512: await manifestDigest(item.manifest), filedBy: userId, filedAt: new Date().toISOString() },
    { kid: keys.signingKid, privateKey: keys.signing },
  );
  return capturesApi.file(item.id, {
    caseId: target.id,
    fileKey: { caseKid: target.caseKey.kid, jwe: fileKeyJwe },
    label: await encryptLabel(label, target.caseKey.publicJwk),
    ...(details ? { details } : {}),
    ...(detailsCaseCopy ? { detailsCaseCopy } : {}),
    ...(choices.categoryId ? { categoryId: choices.categoryId } : {}),
    filing,
  });
}
