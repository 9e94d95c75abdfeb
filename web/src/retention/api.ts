/**
 * Calls to the retention API (docs/retention.md): categories and settings, legal holds, the
 * "Due for deletion" report, approvals, the recycle bin, tombstones, an item's retention status,
 * and which copies a device should drop. Each resolves to the parsed body or throws an `ApiError`.
 */
import {
  ApproveDeletionResult,
  Category,
  CategoryList,
  DisposalList,
  GoneList,
  HoldList,
  RetentionSettings,
  RetentionStatus,
  RunResult,
  TombstoneList,
  type CreateCategoryRequest,
  type PlaceHoldRequest,
  type UpdateCategoryRequest,
  type UpdateRetentionSettingsRequest,
} from "../../../shared/api/retention";
import { client, readResponse } from "../api/client";

const r = client.api.retention;

export const retentionApi = {
  categories: () => readResponse(r.categories.$get(), CategoryList),
  createCategory: (json: CreateCategoryRequest) => readResponse(r.categories.$post({ json }), Category),
  updateCategory: (id: string, json: UpdateCategoryRequest) => readResponse(r.categories[":id"].$patch({ param: { id }, json }), Category),
  settings: () => readResponse(r.settings.$get(), RetentionSettings),
  saveSettings: (json: UpdateRetentionSettingsRequest) => readResponse(r.settings.$put({ json }), RetentionSettings),
  holds: () => readResponse(r.holds.$get(), HoldList),
  caseHolds: (id: string) => readResponse(r.cases[":id"].holds.$get({ param: { id } }), HoldList),
  placeHold: (json: PlaceHoldRequest) => readResponse(r.holds.$post({ json }), HoldList),
  liftHold: (id: string, reason: string) => readResponse(r.holds[":id"].lift.$post({ param: { id }, json: { reason } }), HoldList),
  status: (id: string) => readResponse(r.evidence[":id"].$get({ param: { id } }), RetentionStatus),
  changeCategory: (id: string, categoryId: string, reason: string) => readResponse(r.evidence[":id"].category.$put({ param: { id }, json: { categoryId, reason } }), DisposalList),
  requestDeletion: (id: string, reason: string) => readResponse(r.evidence[":id"]["deletion-request"].$post({ param: { id }, json: { reason } }), DisposalList),
  decline: (id: string, reason: string) => readResponse(r.evidence[":id"].decline.$post({ param: { id }, json: { reason } }), DisposalList),
  due: () => readResponse(r.due.$get({ query: {} }), DisposalList),
  approve: (evidenceIds: string[]) => readResponse(r.approve.$post({ json: { evidenceIds } }), ApproveDeletionResult),
  bin: () => readResponse(r.bin.$get(), DisposalList),
  restore: (id: string, reason: string) => readResponse(r.bin[":id"].restore.$post({ param: { id }, json: { reason } }), DisposalList),
  tombstones: () => readResponse(r.tombstones.$get(), TombstoneList),
  run: () => readResponse(r.run.$post(), RunResult),
  gone: (evidenceIds: string[]) => readResponse(r.gone.$post({ json: { evidenceIds } }), GoneList),
};
