/** What the retention tests share: an organisation with an admin and a lead, categories, uploads with a category, the job at a given time. */
import { expect } from "vitest";
import type { CaseDetail } from "../../shared/api/cases";
import type { Category, DisposalList } from "../../shared/api/retention";
import { backend } from "./backend";
import { openCase, prepareEvidence, randomBytes, sendParts, withKeys, type Person, type Upload } from "./evidence-helpers";
import { addUser, call, setUpOrganisation } from "./helpers";

export const DAY = 24 * 60 * 60 * 1000;

export interface World {
  admin: Person;
  lead: Person;
  case: CaseDetail;
}

/** An organisation with its administrator, an investigator who leads a case, and that case. */
export async function world(): Promise<World> {
  const admin = await withKeys(await setUpOrganisation());
  const lead = await withKeys(await addUser(admin.cookie, { email: "lee@example.org", name: "Lee Lead", role: "investigator" }));
  const opened = await openCase(lead, "R-1");
  return { admin, lead, case: opened };
}

export async function person(admin: Person, email: string, name: string): Promise<Person> {
  return withKeys(await addUser(admin.cookie, { email, name, role: "investigator" }));
}

export async function createCategory(admin: { cookie: string }, name: string, rule: Category["rule"]): Promise<Category> {
  const response = await call("/api/retention/categories", { cookie: admin.cookie, body: { name, rule } });
  expect(response.status, await response.clone().text()).toBe(201);
  return (await response.json()) as Category;
}

/** Uploads `bytes` (with encrypted details) in the given category; returns what was sent. */
export async function upload(uploader: Person, caseDetail: CaseDetail, categoryId?: string, seed = 1, size = 5000, extra: Record<string, unknown> = {}): Promise<Upload & { body: Record<string, unknown> }> {
  const prepared = await prepareEvidence(uploader, caseDetail, randomBytes(size, seed));
  const body = { ...prepared.body, ...(categoryId ? { categoryId } : {}), ...extra };
  const started = await call(`/api/cases/${caseDetail.id}/evidence`, { cookie: uploader.cookie, body });
  expect(started.status, await started.clone().text()).toBe(201);
  for (const response of await sendParts(uploader, prepared)) expect(response.status).toBe(204);
  const completed = await call(`/api/evidence/${prepared.evidenceId}/complete`, { method: "POST", cookie: uploader.cookie });
  expect(completed.status).toBe(200);
  return { ...prepared, body };
}

export async function closeCase(lead: Person, caseId: string, disposition = "solved"): Promise<void> {
  const response = await call(`/api/cases/${caseId}`, { method: "PATCH", cookie: lead.cookie, body: { status: "closed", disposition } });
  expect(response.status, await response.clone().text()).toBe(200);
}

/** The job, run as the Cron Trigger runs it, `days` from now. */
export function runJobAt(days: number): Promise<void> {
  return backend.runScheduled(new Date(Date.now() + days * DAY));
}

export async function dueIds(admin: Person): Promise<string[]> {
  const response = await call("/api/retention/due", { cookie: admin.cookie });
  expect(response.status).toBe(200);
  return ((await response.json()) as DisposalList).items.map((i) => i.evidenceId).sort();
}

export async function binIds(admin: Person): Promise<string[]> {
  const response = await call("/api/retention/bin", { cookie: admin.cookie });
  expect(response.status).toBe(200);
  return ((await response.json()) as DisposalList).items.map((i) => i.evidenceId).sort();
}

export async function approve(admin: Person, ids: string[]): Promise<{ deleted: string[]; refused: { evidenceId: string; code: string }[] }> {
  const response = await call("/api/retention/approve", { cookie: admin.cookie, body: { evidenceIds: ids } });
  expect(response.status, await response.clone().text()).toBe(200);
  return (await response.json()) as { deleted: string[]; refused: { evidenceId: string; code: string }[] };
}
