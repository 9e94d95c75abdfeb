/** The words for a member's role in a case. */
import { CASE_ROLES, type CaseRole } from "../../../shared/api/cases";

export const CASE_ROLE_LABELS: Record<CaseRole, string> = { lead: "Lead", contributor: "Contributor", viewer: "Viewer" };
export const CASE_ROLE_OPTIONS = CASE_ROLES.map((role) => ({ value: role, label: CASE_ROLE_LABELS[role] }));
/** How the signed-in person holds a case: their role, or "Oversight" for a supervisor who oversees it. */
export const myCaseRoleLabel = (c: { myRole: CaseRole; oversight: boolean }): string => (c.oversight ? "Oversight (supervisor)" : CASE_ROLE_LABELS[c.myRole]);
