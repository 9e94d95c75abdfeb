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

/** "12 March 2026, 14:05" in the device's locale and time zone. */
export function formatDateTime(iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return date.toLocaleString(undefined, { dateStyle: "long", timeStyle: "short" });
}
