/**
 * Calls of the intake API (docs/submissions.md §5): what arrived through the case's submission
 * links, the audited key release to view it, accept (with the file key and label re-wrapped to the
 * case key here) and reject.
 */
import { EvidenceSummary } from "../../../shared/api/cases";
import { IncomingSubmissions, SubmittedKeyRelease, type AcceptSubmittedFileRequest } from "../../../shared/api/submission-intake";
import { apiFetch } from "../api/client";
import { z } from "zod";

export const intakeApi = {
  incoming: (caseId: string) => apiFetch(`/api/cases/${caseId}/submissions`, {}, IncomingSubmissions),
  releaseKey: (fileId: string) => apiFetch(`/api/submitted-files/${fileId}/key`, {}, SubmittedKeyRelease),
  accept: (fileId: string, json: AcceptSubmittedFileRequest) => apiFetch(`/api/submitted-files/${fileId}/accept`, { method: "POST", json }, EvidenceSummary),
  reject: (fileId: string) => apiFetch(`/api/submitted-files/${fileId}/reject`, { method: "POST" }, z.unknown()),
};
