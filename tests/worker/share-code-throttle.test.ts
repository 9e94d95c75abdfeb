/**
 * Access codes of link shares (docs/disclosure.md §1.1, docs/security.md): besides each link's
 * lockout after 5 wrong codes in a row, one address may get at most 20 codes wrong within 10
 * minutes over all links; then it is refused (429, audited) while other addresses are not, and
 * right codes never count against it.
 */
import { describe, expect, it } from "vitest";
import type { CreatedShare } from "../../shared/api/shares";
import { auditEvents } from "./audit-helpers";
import { openCase, randomBytes, uploadEvidence, withKeys } from "./evidence-helpers";
import { addUser, call, expectError, setUpOrganisation } from "./helpers";
import { json, share } from "./share-helpers";

describe("access codes: a limit per address", () => {
  it("refuses an address after 20 wrong codes over several links, not another address, and right codes do not count", async () => {
    const adminSession = await setUpOrganisation();
    const lead = await withKeys(await addUser(adminSession.cookie, { email: "lead@example.org", name: "Lee Lead", role: "investigator" }));
    const caseA = await openCase(lead, "2026-0500", { title: "Pier" });
    const item = await uploadEvidence(lead, caseA, randomBytes(600, 41));
    const links: { id: string; code: string }[] = [];
    for (let n = 0; n < 5; n++) {
      const created = await share(lead, caseA.id, { type: "link", label: `Recipient ${n}` }, { items: [item.evidenceId] });
      links.push({ id: created.id, code: (await json<CreatedShare>(created.response, 201)).accessCode! });
    }
    const open = (link: { id: string }, code: string, ip: string) => call(`/api/shared/links/${link.id}/open`, { body: { accessCode: code }, headers: { "CF-Connecting-IP": ip } });
    const attacker = "203.0.113.77";

    // Right codes from the address do not count.
    for (let n = 0; n < 3; n++) expect((await open(links[0]!, links[0]!.code, attacker)).status).toBe(200);
    // 4 wrong codes on each of 5 links: no link locks (5 in a row would), but the address reaches 20.
    for (const link of links) {
      for (let n = 0; n < 4; n++) await expectError(await open(link, "WRONG-CODE-00", attacker), 403, "wrong_access_code");
    }
    const refused = await open(links[0]!, links[0]!.code, attacker);
    await expectError(refused, 429, "too_many_attempts");
    expect(Number(refused.headers.get("Retry-After"))).toBeGreaterThan(0);
    // Another address opens the same link with its code.
    expect((await open(links[0]!, links[0]!.code, "198.51.100.9")).status).toBe(200);

    const throttled = (await auditEvents()).filter((e) => e.action === "auth.throttled");
    expect(throttled).toHaveLength(1);
    expect(throttled[0]!).toMatchObject({ outcome: "denied", target: { type: "ip", id: attacker }, details: { bucket: "share_code", limit: 20 } });
  });
});
