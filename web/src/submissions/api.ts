/**
 * Calls of the submission links API (docs/submissions.md). What is sent is public keys and the
 * submission private key wrapped to the case key: never an unwrapped key.
 */
import { CreatedSubmissionLink, PublicSubmissionLink, SubmissionLinkList, SubmissionLinkSummary, type CreateSubmissionLinkRequest } from "../../../shared/api/submissions";
import { apiFetch } from "../api/client";

export const submissionsApi = {
  links: (caseId: string) => apiFetch(`/api/cases/${caseId}/submission-links`, {}, SubmissionLinkList),
  create: (caseId: string, json: CreateSubmissionLinkRequest) => apiFetch(`/api/cases/${caseId}/submission-links`, { method: "POST", json }, CreatedSubmissionLink),
  revoke: (id: string) => apiFetch(`/api/submission-links/${id}/revoke`, { method: "POST" }, SubmissionLinkSummary),
  open: (id: string) => apiFetch(`/api/submit/${encodeURIComponent(id)}`, {}, PublicSubmissionLink),
};
