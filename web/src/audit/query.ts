/**
 * The audit page's filter: the same names as the API's query (`AuditQuery`), kept in the page's
 * URL so a filtered view can be bookmarked and shared. Times travel as ISO 8601 in UTC, so a
 * shared link means the same instants wherever it is opened; the form shows them in the
 * device's time zone (`datetime-local`).
 */

export const FILTER_KEYS = ["actorId", "action", "outcome", "from", "to", "ip", "targetType", "targetId"] as const;
export type FilterKey = (typeof FILTER_KEYS)[number];
export type AuditFilter = Partial<Record<FilterKey, string>>;

/** The filter named by a query string ("?action=user.invite&outcome=failed"); unknown and empty parameters are dropped. */
export function filterFromSearch(search: string): AuditFilter {
  const params = new URLSearchParams(search);
  const filter: AuditFilter = {};
  for (const key of FILTER_KEYS) {
    const value = params.get(key)?.trim();
    if (value) filter[key] = value;
  }
  return filter;
}

/** Query parameters for a filter, in a fixed order; `extra` (format, after, limit) come last. */
export function filterParams(filter: AuditFilter, extra: Record<string, string | number> = {}): URLSearchParams {
  const params = new URLSearchParams();
  for (const key of FILTER_KEYS) {
    const value = filter[key];
    if (value) params.set(key, value);
  }
  for (const [key, value] of Object.entries(extra)) params.set(key, String(value));
  return params;
}

/** "?a=b" or "" for an empty filter. */
export function filterSearch(filter: AuditFilter): string {
  const query = filterParams(filter).toString();
  return query ? `?${query}` : "";
}

export function isEmptyFilter(filter: AuditFilter): boolean {
  return FILTER_KEYS.every((key) => !filter[key]);
}

const pad = (n: number) => String(n).padStart(2, "0");

/** ISO instant → "YYYY-MM-DDTHH:mm" in the device's time zone, for a datetime-local input ("" if not a date). */
export function isoToLocalInput(iso: string | undefined): string {
  if (!iso) return "";
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return "";
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

/**
 * A datetime-local value (the device's time zone) → ISO instant in UTC. `endOfMinute` makes an
 * upper bound take in the whole minute shown ("To 14:05" includes 14:05:59). Returns
 * undefined for an empty value and the text unchanged if it is not a date (the schema then
 * reports it on the field).
 */
export function localInputToIso(value: string, options: { endOfMinute?: boolean } = {}): string | undefined {
  const text = value.trim();
  if (!text) return undefined;
  // "YYYY-MM-DDTHH:mm[:ss]" without an offset is local time (ECMAScript date-time string format).
  const date = new Date(text);
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/.test(text) || Number.isNaN(date.getTime())) return text;
  if (options.endOfMinute && text.length === 16) date.setSeconds(59, 999);
  return date.toISOString();
}

/** The filter as the form sends it: empty fields dropped, From and To converted to UTC. */
export function filterFromForm(values: Record<string, unknown>): AuditFilter {
  const filter: AuditFilter = {};
  for (const key of FILTER_KEYS) {
    const raw = values[key];
    if (typeof raw !== "string" || raw.trim() === "") continue;
    const value =
      key === "from" ? localInputToIso(raw) : key === "to" ? localInputToIso(raw, { endOfMinute: true }) : raw.trim();
    if (value) filter[key] = value;
  }
  return filter;
}

/** Actions seen on this device since the page loaded, for the Action field's suggestions. */
const seenActions = new Set<string>();

export function rememberActions(actions: Iterable<string>): string[] {
  for (const action of actions) seenActions.add(action);
  return [...seenActions].sort();
}
