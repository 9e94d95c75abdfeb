import { z } from "zod";

/**
 * Cursor paging, the same for every list that can grow: ask with `limit` (at most
 * `PAGE_LIMIT_MAX`) and, for the next page, the `nextCursor` of the page before; `nextCursor` is
 * null on the last page. A cursor is opaque: it names the last item of a page by its sort key,
 * so items added or removed meanwhile neither repeat nor drop out of the pages that follow.
 */
export const PAGE_LIMIT_MAX = 200;
export const PAGE_LIMIT_DEFAULT = 50;

export const PageQuery = z.strictObject({
  cursor: z
    .string()
    .max(512)
    .regex(/^[A-Za-z0-9_-]+$/, "Not a cursor this server gave out.")
    .optional()
    .meta({ description: "The `nextCursor` of the previous page; absent for the first page." }),
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .max(PAGE_LIMIT_MAX)
    .optional()
    .meta({ description: `Items per page: ${PAGE_LIMIT_DEFAULT} when absent, at most ${PAGE_LIMIT_MAX}.` }),
});
export type PageQuery = z.input<typeof PageQuery>;

export const NextCursor = z.string().nullable().meta({ description: "Pass as `cursor` for the next page; null when this is the last." });
