/**
 * The origin users reach Custody at: the `PUBLIC_URL` variable (wrangler.toml `[vars]`, set per
 * deployment; `npm start` sets it to its own http://localhost:<port>; on Deno, CUSTODY_PUBLIC_URL
 * sets it). Used where a URL must not come from the request's Host header: the OpenID redirect URI.
 */
export function publicOrigin(env: Env): string {
  const value = (env as unknown as { PUBLIC_URL?: unknown }).PUBLIC_URL;
  if (typeof value !== "string" || !URL.canParse(value)) throw new Error("PUBLIC_URL is not set to a URL (wrangler.toml [vars], or CUSTODY_PUBLIC_URL on Deno)");
  return new URL(value).origin;
}
