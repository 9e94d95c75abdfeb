import type { Context } from "hono";
import type { CaseRole } from "../../../shared/api/cases";
import { findCaseForMember, type MyCaseRow } from "../db/cases";
import type { AppEnv } from "../env";
import { audit } from "./audit";
import { ApiError } from "./errors";

const RANK: Record<CaseRole, number> = { viewer: 0, contributor: 1, lead: 2 };

/** A case as the signed-in user sees it: a member, or a supervisor who oversees it (role viewer). */
export type MemberCase = MyCaseRow;

/**
 * The case, if the signed-in user is a member with at least `minimum` role. A non-member gets
 * 404, the same as for a case that does not exist: nobody learns of a case they are not in.
 * A member without the role gets 403 (recorded as denied).
 */
export async function requireCaseRole(c: Context<AppEnv>, caseId: string, minimum: CaseRole): Promise<MemberCase> {
  const found = await findCaseForMember(c.env.DB, caseId, c.get("user").id);
  if (!found) throw new ApiError(404, "not_found", "No such case, or you are not a member of it.");
  if (RANK[found.my_role] < RANK[minimum]) {
    await audit(c, {
      action: "access.denied",
      target: { type: "case", id: caseId },
      outcome: "denied",
      details: { caseId, need: minimum, have: found.my_role, route: `${c.req.method} ${c.req.routePath}` },
    });
    throw new ApiError(403, "case_role", minimum === "lead" ? "Only a lead of this case can do this." : "Viewers cannot change this case.");
  }
  return found;
}
