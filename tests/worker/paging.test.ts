/**
 * Cursor paging of every list that can grow: walked a small page at a time, each list gives
 * every item exactly once, in its documented order, and says where it ends; bad cursors and
 * page sizes are refused in the error shape.
 */
import { describe, expect, it } from "vitest";
import type { AuditPage } from "../../shared/api/audit";
import { PAGE_LIMIT_MAX } from "../../shared/api/paging";
import { openCase, uploadEvidence, randomBytes, withKeys } from "./evidence-helpers";
import { addUser, call, expectError, setUpOrganisation } from "./helpers";
import { CAMERAS, createRequest, pastRange, registerSite, siteWithCameras } from "./video-helpers";

type Page = Record<string, unknown> & { nextCursor: string | null };

/** Every item of the list at `path` (its array under `field`), asked `limit` at a time; and how many pages it took. */
async function walk<T>(path: string, field: string, cookie: string, limit = 2): Promise<{ items: T[]; pages: number }> {
  const items: T[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const query = new URLSearchParams({ limit: String(limit), ...(cursor ? { cursor } : {}) });
    const response = await call(`${path}${path.includes("?") ? "&" : "?"}${query}`, { cookie });
    expect(response.status, await response.clone().text()).toBe(200);
    const page = (await response.json()) as Page;
    const got = page[field] as T[];
    expect(got.length).toBeLessThanOrEqual(limit);
    if (page.nextCursor !== null) expect(got).toHaveLength(limit);
    items.push(...got);
    cursor = page.nextCursor;
    pages += 1;
    expect(pages, "the list never ends").toBeLessThan(50);
  } while (cursor !== null);
  return { items, pages };
}

describe("paging", () => {
  it("pages the case list last changed first, with filters, each case once", async () => {
    const admin = await setUpOrganisation();
    const ivy = await withKeys(await addUser(admin.cookie, { email: "ivy@example.org", name: "Ivy Investigator", role: "investigator" }));
    const opened = [];
    for (let i = 1; i <= 5; i++) opened.push(await openCase(ivy, `P-${i}`, { tags: i % 2 ? ["odd"] : [] }));
    const { items, pages } = await walk<{ id: string; number: string; updatedAt: string }>("/api/cases", "cases", ivy.cookie);
    expect(pages).toBe(3);
    expect(items.map((c) => c.number)).toEqual(["P-5", "P-4", "P-3", "P-2", "P-1"]);
    const odd = await walk<{ number: string }>("/api/cases?tag=odd", "cases", ivy.cookie);
    expect(odd.items.map((c) => c.number)).toEqual(["P-5", "P-3", "P-1"]);
    // Without a limit, the default page holds all five, and says it is the last.
    const all = (await (await call("/api/cases", { cookie: ivy.cookie })).json()) as Page;
    expect((all.cases as unknown[]).length).toBe(5);
    expect(all.nextCursor).toBeNull();
  });

  it("pages a case's evidence newest first, each item once", async () => {
    const admin = await setUpOrganisation();
    const ivy = await withKeys(await addUser(admin.cookie, { email: "ivy@example.org", name: "Ivy Investigator", role: "investigator" }));
    const theCase = await openCase(ivy, "E-1");
    const uploaded = [];
    for (let i = 0; i < 5; i++) uploaded.push((await uploadEvidence(ivy, theCase, randomBytes(100 + i, i + 1))).evidenceId);
    const { items } = await walk<{ id: string; createdAt: string }>(`/api/cases/${theCase.id}/evidence`, "evidence", ivy.cookie);
    expect(new Set(items.map((e) => e.id))).toEqual(new Set(uploaded));
    expect(items).toHaveLength(5);
    const times = items.map((e) => e.createdAt);
    expect([...times].sort().reverse()).toEqual(times);
  });

  it("pages users by name, and their security facts with the same cursors", async () => {
    const admin = await setUpOrganisation();
    for (const name of ["Zoe", "bob", "Carol", "alice"]) await call("/api/users", { cookie: admin.cookie, body: { email: `${name.toLowerCase()}@example.org`, name, role: "investigator" } });
    const users = await walk<{ id: string; name: string }>("/api/users", "users", admin.cookie);
    expect(users.items.map((u) => u.name)).toEqual(["Ada Admin", "alice", "bob", "Carol", "Zoe"]);
    const security = await walk<{ id: string }>("/api/users/security", "users", admin.cookie);
    expect(security.items.map((u) => u.id)).toEqual(users.items.map((u) => u.id));
  });

  it("pages sites by name and cameras by site and name, or nearest first", async () => {
    const admin = await setUpOrganisation();
    for (const name of ["Delta Garage", "Alpha Store", "Charlie Bank"]) await registerSite(admin.cookie, name);
    const { cameraIds } = await siteWithCameras(admin.cookie, "Bravo Cafe", [
      ...CAMERAS,
      { archiveId: "north", name: "North", latitude: 51.6, longitude: -0.12, direction: 0, recorderId: "nvr" },
      { archiveId: "south", name: "South", latitude: 51.4, longitude: -0.12, direction: 180, recorderId: "nvr" },
      { archiveId: "nowhere", name: "Unplaced", latitude: null, longitude: null, direction: null, recorderId: "nvr" },
    ]);
    const sites = await walk<{ name: string }>("/api/sites", "sites", admin.cookie);
    expect(sites.items.map((s) => s.name)).toEqual(["Alpha Store", "Bravo Cafe", "Charlie Bank", "Delta Garage"]);

    const byName = await walk<{ id: string; name: string }>("/api/cameras", "cameras", admin.cookie);
    expect(byName.items.map((c) => c.name)).toEqual([...byName.items.map((c) => c.name)].sort());
    expect(new Set(byName.items.map((c) => c.id))).toEqual(new Set(cameraIds));

    const near = await walk<{ name: string; distanceMetres: number | null }>("/api/cameras?lat=51.59&lon=-0.12", "cameras", admin.cookie);
    expect(near.items).toHaveLength(cameraIds.length);
    expect(near.items[0]!.name).toBe("North");
    expect(near.items.at(-1)!.name).toBe("Unplaced");
    const distances = near.items.slice(0, -1).map((c) => c.distanceMetres!);
    expect([...distances].sort((a, b) => a - b)).toEqual(distances);
  });

  it("pages video requests newest first, and a case's history oldest first", async () => {
    const admin = await setUpOrganisation();
    const ivy = await withKeys(await addUser(admin.cookie, { email: "ivy@example.org", name: "Ivy Investigator", role: "investigator" }));
    const theCase = await openCase(ivy, "V-1");
    const { cameraIds } = await siteWithCameras(admin.cookie);
    const made = [];
    for (let i = 0; i < 5; i++) {
      const response = await createRequest(ivy.cookie, { caseId: theCase.id, cameraIds: [cameraIds[0]!], ...pastRange(10, 60 + i * 20), reason: `Request ${i}` });
      expect(response.status).toBe(201);
      made.push(((await response.json()) as { id: string }).id);
    }
    const requests = await walk<{ id: string; createdAt: string }>("/api/video-requests", "requests", ivy.cookie);
    expect(requests.items).toHaveLength(5);
    expect(new Set(requests.items.map((r) => r.id))).toEqual(new Set(made));
    const times = requests.items.map((r) => r.createdAt);
    expect([...times].sort().reverse()).toEqual(times);

    const history: AuditPage["events"] = [];
    let after: number | null = 0;
    while (after !== null) {
      const page = (await (await call(`/api/cases/${theCase.id}/history?limit=2&after=${after}`, { cookie: ivy.cookie })).json()) as AuditPage;
      expect(page.events.length).toBeLessThanOrEqual(2);
      history.push(...page.events);
      after = page.next;
    }
    const seqs = history.map((e) => e.seq);
    expect(new Set(seqs).size).toBe(seqs.length);
    expect([...seqs].sort((a, b) => a - b)).toEqual(seqs);
    expect(history.filter((e) => e.action === "video.request_create")).toHaveLength(5);
  });

  it("refuses a made-up cursor, another list's cursor and an oversized page, in the error shape", async () => {
    const admin = await setUpOrganisation();
    for (const name of ["A Site", "B Site"]) await registerSite(admin.cookie, name);
    const first = (await (await call("/api/sites?limit=1", { cookie: admin.cookie })).json()) as Page;
    expect(first.nextCursor).not.toBeNull();
    await expectError(await call(`/api/users?cursor=${first.nextCursor}`, { cookie: admin.cookie }), 400, "bad_cursor");
    await expectError(await call("/api/sites?cursor=bm90LWpzb24", { cookie: admin.cookie }), 400, "bad_cursor");
    await expectError(await call("/api/sites?cursor=not%20base64!", { cookie: admin.cookie }), 400);
    await expectError(await call(`/api/cases?limit=${PAGE_LIMIT_MAX + 1}`, { cookie: admin.cookie }), 400);
    await expectError(await call("/api/cameras?limit=0", { cookie: admin.cookie }), 400);
    // A list-by-name cursor is not a nearest-first cursor.
    await expectError(await call(`/api/cameras?lat=1&lon=1&cursor=${first.nextCursor}`, { cookie: admin.cookie }), 400, "bad_cursor");
  });
});
