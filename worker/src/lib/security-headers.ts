/**
 * The security headers of every response, in one place (docs/security.md, "Headers"):
 * - the app's files (HTML, scripts, the service worker, the manifest, icons): on Cloudflare from
 *   `dist/_headers`, which the build writes from `renderHeadersFile()` (Workers Static Assets
 *   apply it to every asset, the single-page-app fallback included; no worker runs); on Deno the
 *   host adds `APP_HEADERS` to each file it serves (deno/assets.ts);
 * - API answers: the worker adds `API_HEADERS` (worker/src/app.ts).
 * Pure data, no runtime API: read by the worker, the Deno host and vite.config.ts.
 */

/**
 * The app's Content-Security-Policy. No inline script or style, no eval; what it does allow:
 * - `script-src 'wasm-unsafe-eval'`: hash-wasm compiles its SHA-512 WebAssembly in the encryption
 *   and viewer Web Workers (WebAssembly only: JavaScript eval stays refused);
 * - `worker-src 'self'`: those Web Workers and the service worker are the app's own files;
 * - `img-src blob: data:`: decrypted photos are shown from blob: URLs, Leaflet's CSS uses data:
 *   images; `https:` and loopback http for the Cameras map's tiles (Leaflet loads them as <img>).
 *   Not the configured tile host alone, on purpose: the service worker answers navigations with
 *   the index.html it precached, headers included, so a CSP naming the tile host would keep the
 *   old host until the next app version after an administrator changes it. Images are the
 *   least dangerous thing to allow: they cannot run code, and `connect-src 'self'` still stops
 *   script from sending data anywhere but this server;
 * - `media-src blob:`: videos play from the per-view URL the service worker answers (`/view/<id>`,
 *   the app's own origin), or from a blob: URL of the verified file when no service worker controls the page;
 * - `connect-src 'self'`: the API only (the map's tiles are images, not fetches);
 * - `frame-ancestors 'none'`: nobody can frame the app (clickjacking).
 */
export const APP_CSP = [
  "default-src 'self'",
  "script-src 'self' 'wasm-unsafe-eval'",
  "style-src 'self'",
  "img-src 'self' blob: data: https: http://localhost:* http://127.0.0.1:*",
  "media-src 'self' blob:",
  "font-src 'self'",
  "connect-src 'self'",
  "worker-src 'self'",
  "manifest-src 'self'",
  "frame-src 'none'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join("; ");

/** API answers are JSON (or a download): they load nothing, and nothing may frame them. */
export const API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/**
 * Only the camera, the microphone (capture) and geolocation (capture metadata, "cameras near me"),
 * and only for the app itself; fullscreen for the video player. Everything else a page could ask
 * for is off. (Passkeys' `publickey-credentials-*` keep their default, the app's own origin.)
 */
export const PERMISSIONS_POLICY = [
  "camera=(self)",
  "microphone=(self)",
  "geolocation=(self)",
  "fullscreen=(self)",
  "accelerometer=()",
  "autoplay=()",
  "bluetooth=()",
  "display-capture=()",
  "gyroscope=()",
  "hid=()",
  "idle-detection=()",
  "magnetometer=()",
  "midi=()",
  "payment=()",
  "screen-wake-lock=()",
  "serial=()",
  "usb=()",
  "xr-spatial-tracking=()",
].join(", ");

const COMMON_HEADERS = {
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "no-referrer",
  "Permissions-Policy": PERMISSIONS_POLICY,
  "Cross-Origin-Opener-Policy": "same-origin",
  "Cross-Origin-Resource-Policy": "same-origin",
  // For browsers without frame-ancestors.
  "X-Frame-Options": "DENY",
  // Sent on every answer: browsers ignore it over plain http (RFC 6797 §8.1), so localhost is unaffected.
  "Strict-Transport-Security": "max-age=31536000; includeSubDomains",
} as const;

export const APP_HEADERS: Record<string, string> = { "Content-Security-Policy": APP_CSP, ...COMMON_HEADERS };
export const API_HEADERS: Record<string, string> = { "Content-Security-Policy": API_CSP, ...COMMON_HEADERS };

/** `dist/_headers` for Workers Static Assets: the app's headers on every file. */
export function renderHeadersFile(): string {
  const lines = Object.entries(APP_HEADERS).map(([name, value]) => `  ${name}: ${value}`);
  return `# Written by the build from worker/src/lib/security-headers.ts: edit that, not this.\n/*\n${lines.join("\n")}\n`;
}
