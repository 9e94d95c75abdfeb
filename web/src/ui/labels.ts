import { ROLES, type User, type UserRole } from "../../../shared/api/schemas";

export const ROLE_LABELS: Record<UserRole, string> = {
  admin: "Administrator",
  investigator: "Investigator",
  site_operator: "Site operator",
  guest: "Guest",
};

export const ROLE_OPTIONS = ROLES.map((role) => ({ value: role, label: ROLE_LABELS[role] }));

export const STATUS_LABELS: Record<User["status"], string> = {
  active: "Active",
  invited: "Invited",
  disabled: "Disabled",
};
