/**
 * The bindings the worker expects, read from `wrangler.toml` so that the Deno host gives the
 * worker exactly what Cloudflare does: every D1 database, R2 bucket and Durable Object
 * binding, the plain-text `[vars]`, and the Cron Triggers. Only the small part of TOML that file
 * uses is read: `[table]` and `[[array.of.tables]]` headers and `key = "string"` (or number,
 * boolean, or a one-line array of double-quoted strings) lines.
 */
import { readFileSync } from "node:fs";

export interface Bindings {
  d1: { binding: string }[];
  r2: { binding: string }[];
  durableObjects: { name: string; className: string }[];
  vars: Record<string, string>;
  /** `[triggers] crons`: when the worker's `scheduled` handler runs (deno/scheduler.ts). */
  crons: string[];
}

type Table = Record<string, string | number | boolean | string[]>;

function parseValue(raw: string, where: string): string | number | boolean | string[] {
  const value = raw.replace(/\s+#.*$/, "").trim();
  if (/^\[\s*("([^"\\]|\\.)*"\s*,?\s*)*\]$/.test(value)) return JSON.parse(value.replace(/,\s*\]$/, "]")) as string[];
  if (/^"([^"\\]|\\.)*"$/.test(value)) return JSON.parse(value) as string;
  if (/^'[^']*'$/.test(value)) return value.slice(1, -1);
  if (value === "true" || value === "false") return value === "true";
  if (/^-?\d+(\.\d+)?$/.test(value)) return Number(value);
  return `[unparsed] ${where}`;
}

/** `[[name]]` entries and `[name]` tables of the file, in order. */
export function parseToml(text: string): { arrays: Map<string, Table[]>; tables: Map<string, Table> } {
  const arrays = new Map<string, Table[]>();
  const tables = new Map<string, Table>([["", {}]]);
  let current = tables.get("")!;
  text.split("\n").forEach((line, n) => {
    const trimmed = line.trim();
    if (trimmed === "" || trimmed.startsWith("#")) return;
    let match = /^\[\[\s*([\w.-]+)\s*\]\]/.exec(trimmed);
    if (match) {
      current = {};
      arrays.set(match[1]!, [...(arrays.get(match[1]!) ?? []), current]);
      return;
    }
    match = /^\[\s*([\w.-]+)\s*\]/.exec(trimmed);
    if (match) {
      current = tables.get(match[1]!) ?? {};
      tables.set(match[1]!, current);
      return;
    }
    match = /^([\w-]+)\s*=\s*(.*)$/.exec(trimmed);
    if (match) current[match[1]!] = parseValue(match[2]!, `line ${n + 1}`);
  });
  return { arrays, tables };
}

export function readBindings(path: string): Bindings {
  const { arrays, tables } = parseToml(readFileSync(path, "utf8"));
  const vars: Record<string, string> = {};
  for (const [key, value] of Object.entries(tables.get("vars") ?? {})) vars[key] = String(value);
  return {
    d1: (arrays.get("d1_databases") ?? []).map((t) => ({ binding: String(t.binding) })),
    r2: (arrays.get("r2_buckets") ?? []).map((t) => ({ binding: String(t.binding) })),
    durableObjects: (arrays.get("durable_objects.bindings") ?? []).map((t) => ({ name: String(t.name), className: String(t.class_name) })),
    vars,
    crons: ((tables.get("triggers") ?? {}).crons as string[] | undefined) ?? [],
  };
}

/**
 * The worker's secrets: on Cloudflare set with `wrangler secret put NAME`, on Deno taken from
 * the server's environment variable of the same name (and bound only when set).
 */
export const SECRET_NAMES = ["OIDC_CLIENT_SECRET", "DATA_KEY", "DATA_KEY_PREVIOUS"] as const;

/**
 * Plain settings the server's environment may give the worker, over wrangler.toml's `[vars]`:
 * OIDC_ALLOW_LOOPBACK, the development setting for an identity provider on this machine (off
 * unless set; docs/security.md); AUDIT_PERIOD_BITS, the audit log's period length for the tests
 * and the bench (docs/audit.md, "How the log grows"; unset: 2^20 events). (PUBLIC_URL comes from
 * CUSTODY_PUBLIC_URL.)
 */
export const SETTING_NAMES = ["OIDC_ALLOW_LOOPBACK", "AUDIT_PERIOD_BITS"] as const;
