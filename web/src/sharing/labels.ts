import type { ShareLevel, ShareSummary } from "../../../shared/api/shares";

export const LEVEL_LABELS: Record<ShareLevel, string> = {
  view: "View in the app",
  download: "View and download originals",
  export: "View, download and export court packages",
};

export const STATUS_LABELS: Record<ShareSummary["status"], string> = { active: "Active", locked: "Locked", expired: "Expired", revoked: "Revoked" };

export function SCOPE_TEXT(share: Pick<ShareSummary, "scope" | "includeLater" | "itemCount">): string {
  if (share.scope === "case") return share.includeLater ? "the whole case, with items added later" : `the whole case (${share.itemCount} ${share.itemCount === 1 ? "item" : "items"})`;
  return `${share.itemCount} chosen ${share.itemCount === 1 ? "item" : "items"}`;
}
