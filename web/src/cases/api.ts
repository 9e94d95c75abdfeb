/**
 * Calls to the cases and evidence API, each resolving to the parsed body or throwing an
 * `ApiError` (api/client.ts). The reads a person needs offline (cases, a case, its evidence,
 * its key wraps, signers' keys, an item) are saved on the device and answered from there when
 * the server cannot be reached (offline/cache.ts). Everything sent here is public key material, wrapped keys,
 * ciphertext or signed manifests: no plaintext and no unwrapped key ever goes to the server.
 */
import {
  CaseDetail,
  CaseList,
  CaseSummary,
  DetailsVersions,
  Directory,
  EvidenceList,
  EvidenceSummary,
  EvidenceThumbnails,
  FileKeyRelease,
  MyCaseKeys,
  PartUrls,
  SupervisorList,
  TimestampStatus,
  UploadState,
  type AddMemberRequest,
  type AddOversightRequest,
  type CaseRole,
  type CreateCaseRequest,
  type CreateEvidenceRequest,
  type RemoveMemberRequest,
  type UpdateCaseRequest,
} from "../../../shared/api/cases";
import { RecoveryKeyInfo, SignerKey, UserPublicKeys } from "../../../shared/api/schemas";
import { client, readResponse } from "../api/client";
import { saved } from "../offline/cache";

export const casesApi = {
  /** A page of your cases (the first without `cursor`; `limit` up to 200). */
  list: (query: { q?: string; status?: "open" | "closed"; tag?: string; cursor?: string; limit?: string }) =>
    saved(`/api/cases?${new URLSearchParams(query)}`, () => readResponse(client.api.cases.$get({ query }), CaseList)),
  create: (json: CreateCaseRequest) => readResponse(client.api.cases.$post({ json }), CaseDetail),
  get: (id: string) => saved(`/api/cases/${id}`, () => readResponse(client.api.cases[":id"].$get({ param: { id } }), CaseDetail)),
  update: (id: string, json: UpdateCaseRequest) => readResponse(client.api.cases[":id"].$patch({ param: { id }, json }), CaseSummary),
  keys: (id: string) => saved(`/api/cases/${id}/keys`, () => readResponse(client.api.cases[":id"].keys.$get({ param: { id } }), MyCaseKeys)),
  addMember: (id: string, json: AddMemberRequest) => readResponse(client.api.cases[":id"].members.$post({ param: { id }, json }), CaseDetail),
  changeRole: (id: string, userId: string, role: CaseRole) =>
    readResponse(client.api.cases[":id"].members[":userId"].$patch({ param: { id, userId }, json: { role } }), CaseDetail),
  removeMember: (id: string, userId: string, json: RemoveMemberRequest) =>
    readResponse(client.api.cases[":id"].members[":userId"].remove.$post({ param: { id, userId }, json }), CaseDetail),
  /** A page of the case's evidence, newest first. */
  evidence: (id: string, cursor?: string) => {
    const query: { cursor?: string } = cursor ? { cursor } : {};
    return saved(`/api/cases/${id}/evidence${cursor ? `?${new URLSearchParams({ cursor })}` : ""}`, () =>
      readResponse(client.api.cases[":id"].evidence.$get({ param: { id }, query }), EvidenceList),
    );
  },
  /** The thumbnails of some of the case's items (at most `THUMBNAILS_MAX`), encrypted to the case key: lists leave them out. */
  thumbnails: (id: string, ids: string[]) => {
    const query = { ids: ids.join(",") };
    return saved(`/api/cases/${id}/thumbnails?${new URLSearchParams(query)}`, () =>
      readResponse(client.api.cases[":id"].thumbnails.$get({ param: { id }, query }), EvidenceThumbnails),
    );
  },
  recoveryKey: () => readResponse(client.api.keys.recovery.$get(), RecoveryKeyInfo),
  userKeys: (id: string) => readResponse(client.api.keys.users[":id"].$get({ param: { id } }), UserPublicKeys),
  signer: (kid: string) => saved(`/api/keys/signers/${kid}`, () => readResponse(client.api.keys.signers[":kid"].$get({ param: { kid } }), SignerKey)),
  /** Records a case package export of these items (before their audit extracts are fetched, so each shows it). */
  recordPackage: (id: string, evidenceIds: string[]) => readResponse(client.api.cases[":id"].package.$post({ param: { id }, json: { evidenceIds } })),
  /** The organisation's supervisors and their encryption keys: every new case key is wrapped to each. */
  supervisors: () => readResponse(client.api.directory.supervisors.$get(), SupervisorList),
  /** Gives supervisors access to a case (leads): every key of the case wrapped to each of them, on this device. */
  addOversight: (id: string, json: AddOversightRequest) => readResponse(client.api.cases[":id"].oversight.$post({ param: { id }, json }), CaseDetail),
  /** Colleagues who can be case members (investigators and administrators), to add one to a case. */
  directory: () => readResponse(client.api.directory.$get({ query: {} }), Directory),
};

export const evidenceApi = {
  start: (caseId: string, json: CreateEvidenceRequest) =>
    readResponse(client.api.cases[":id"].evidence.$post({ param: { id: caseId }, json }), UploadState),
  get: (id: string) => saved(`/api/evidence/${id}`, () => readResponse(client.api.evidence[":id"].$get({ param: { id } }), EvidenceSummary)),
  uploadState: (id: string) => readResponse(client.api.evidence[":id"].upload.$get({ param: { id } }), UploadState),
  /** Signed part URLs; `sha512` (one per part) for an upload started before its manifest. */
  partUrls: (id: string, parts: number[], sha512?: string[]) =>
    readResponse(client.api.evidence[":id"]["part-urls"].$post({ param: { id }, json: { parts, ...(sha512 ? { sha512 } : {}) } }), PartUrls),
  /** Completes the upload; `manifest` for one started before its manifest was signed. */
  complete: (id: string, manifest?: string, thumbnail?: string) =>
    readResponse(client.api.evidence[":id"].complete.$post({ param: { id }, json: { ...(manifest ? { manifest } : {}), ...(thumbnail ? { thumbnail } : {}) } }), EvidenceSummary),
  cancel: (id: string) => readResponse(client.api.evidence[":id"].$delete({ param: { id } })),
  /** The audited view: the wrapped file key and your wrap of its case key. */
  releaseKey: (id: string) => readResponse(client.api.evidence[":id"].key.$get({ param: { id } }), FileKeyRelease),
  recordAccess: (id: string, action: "download" | "export") =>
    readResponse(client.api.evidence[":id"].access.$post({ param: { id }, json: { action } })),
  /** A new details version: `jwe` under the file key, and `caseCopy` (the same to a case key) for members' lists and search. */
  updateDetails: (id: string, jwe: string, baseVersion: number, caseCopy?: { caseKid: string; jwe: string }) =>
    readResponse(client.api.evidence[":id"].details.$patch({ param: { id }, json: { jwe, baseVersion, ...(caseCopy ? { caseCopy } : {}) } }), EvidenceSummary),
  /** The item's RFC 3161 timestamp over its manifest signature (a due retry happens on the way). */
  timestamp: (id: string) => readResponse(client.api.evidence[":id"].timestamp.$get({ param: { id } }), TimestampStatus),
  detailsVersions: (id: string) => saved(`/api/evidence/${id}/details/versions`, () => readResponse(client.api.evidence[":id"].details.versions.$get({ param: { id } }), DetailsVersions)),
};
