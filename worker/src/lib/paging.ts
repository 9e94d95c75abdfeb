import { PAGE_LIMIT_DEFAULT } from "../../../shared/api/paging";
import { fromBase64url, fromUtf8, toBase64url, utf8 } from "../../../shared/crypto/encoding";
import { ApiError } from "./errors";

/** A sort key: the values a list is ordered by, the row's id last so that every key is unique. */
export type SortKey = (string | number)[];

const badCursor = () => new ApiError(400, "bad_cursor", "This page cursor is not valid here. Start again from the first page.");

/** The opaque cursor for a sort key: base64url of its JSON. */
export function encodeCursor(key: SortKey): string {
  return toBase64url(utf8(JSON.stringify(key)));
}

/**
 * The sort key a cursor names, checked against the list's key shape (`"s"` a string, `"n"` a
 * number), or null without a cursor. A cursor of another list, or made up, is a 400.
 */
export function decodeCursor(cursor: string | undefined, shape: ("s" | "n")[]): SortKey | null {
  if (cursor === undefined) return null;
  let key: unknown;
  try {
    key = JSON.parse(fromUtf8(fromBase64url(cursor)));
  } catch {
    throw badCursor();
  }
  if (!Array.isArray(key) || key.length !== shape.length) throw badCursor();
  key.forEach((value, i) => {
    if (shape[i] === "s" ? typeof value !== "string" || value.length > 300 : typeof value !== "number" || !Number.isFinite(value)) throw badCursor();
  });
  return key as SortKey;
}

export function pageLimit(limit: number | undefined): number {
  return limit ?? PAGE_LIMIT_DEFAULT;
}

/**
 * One page from rows fetched with `limit + 1` (the extra row only tells that there is more):
 * the first `limit` rows and the cursor after the last of them, or null when nothing follows.
 */
export function toPage<T>(rows: T[], limit: number, keyOf: (row: T) => SortKey): { items: T[]; nextCursor: string | null } {
  const items = rows.slice(0, limit);
  return { items, nextCursor: rows.length > limit ? encodeCursor(keyOf(items.at(-1)!)) : null };
}
