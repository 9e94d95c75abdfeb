import { ROLES, type Role, type User } from "../../../shared/api/schemas";

export const ROLE_LABELS: Record<Role, string> = {
  admin: "Administrator",
  investigator: "Investigator",
  site_operator: "Site operator",
};

export const ROLE_OPTIONS = ROLES.map((role) => ({ value: role, label: ROLE_LABELS[role] }));

export const STATUS_LABELS: Record<User["status"], string> = {
  active: "Active",
  invited: "Invited",
  disabled: "Disabled",
};
