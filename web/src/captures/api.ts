/**
 * "Capture first, file later" (docs/evidence-format.md §6.2): where captures go before they have
 * a case, and filing one into a case. A capture is encrypted on this device to the user's own
 * encryption key and uploaded to their holding place ("My captures"); filing re-wraps its file key
 * to the case key here in the browser, and signs a filing record. The ciphertext is never touched.
 */
import { EvidenceSummary, type FileCaptureRequest } from "../../../shared/api/cases";
import { capturesScopeId } from "../../../shared/crypto/filing";
import { api, client, readResponse } from "../api/client";
import { saved } from "../offline/cache";
import type { UploadTarget } from "../upload/queue";

export const capturesApi = {
  /** Your registered encryption key (saved on the device, so a capture can be made offline). */
  myEncryptionKey: () => saved("/api/keys/me#encryption", async () => (await api.myKeys()).encryption),
  file: (id: string, json: FileCaptureRequest) => readResponse(client.api.evidence[":id"].file.$post({ param: { id }, json }), EvidenceSummary),
};

/** Where a capture goes: the user's holding place, its files wrapped to the user's own key. */
export async function capturesTarget(userId: string): Promise<UploadTarget> {
  const key = await capturesApi.myEncryptionKey();
  return { id: await capturesScopeId(userId), caseKey: { kid: key.kid, publicJwk: key.publicJwk }, scope: "captures" };
}
