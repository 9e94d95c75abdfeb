import preact from "@preact/preset-vite";
import { defineConfig } from "vite";
import { VitePWA } from "vite-plugin-pwa";
import { renderHeadersFile } from "./worker/src/lib/security-headers.ts";

const THEME_COLOR = "#16324f";

// The web app lives in web/; the worker serves the built files from dist/ at the repo root.
export default defineConfig({
  root: "web",
  build: {
    outDir: "../dist",
    emptyOutDir: true,
  },
  server: {
    // `npm start` (wrangler dev) serves the API on 8787 (CUSTODY_API_URL overrides); the Vite
    // dev server forwards /api to it so the session cookie stays same-origin. The Host header
    // is passed through unchanged (changeOrigin: false; the string shorthand would set it to
    // true), so the worker's CSRF check sees the browser's Origin as its own.
    // `vite preview` uses the same proxy.
    proxy: {
      "/api": { target: process.env["CUSTODY_API_URL"] ?? "http://localhost:8787", changeOrigin: false },
    },
  },
  plugins: [
    preact(),
    {
      // dist/_headers: the security headers Workers Static Assets put on every file of the app.
      name: "custody-security-headers",
      apply: "build",
      generateBundle() {
        this.emitFile({ type: "asset", fileName: "_headers", source: renderHeadersFile() });
      },
    },
    VitePWA({
      strategies: "injectManifest",
      srcDir: "src",
      filename: "sw.ts",
      registerType: "prompt",
      // The app registers the worker itself with workbox-window (web/src/offline/pwa.tsx).
      injectRegister: false,
      manifest: {
        name: "Custody",
        short_name: "Custody",
        description: "End-to-end encrypted evidence collection for field investigators.",
        theme_color: THEME_COLOR,
        background_color: "#ffffff",
        display: "standalone",
        id: "/",
        start_url: "/",
        scope: "/",
        lang: "en",
        orientation: "any",
        categories: ["productivity", "utilities"],
        // Share a photo or video from the phone's gallery to Custody: the service worker keeps it
        // on the device and opens "Add to case" (web/src/sw.ts, web/src/upload/SharePage.tsx).
        share_target: {
          action: "/share-target",
          method: "POST",
          enctype: "multipart/form-data",
          params: { title: "title", text: "text", files: [{ name: "files", accept: ["image/*", "video/*", "audio/*", "application/pdf"] }] },
        },
        icons: [
          { src: "/pwa-192.png", sizes: "192x192", type: "image/png", purpose: "any" },
          { src: "/pwa-512.png", sizes: "512x512", type: "image/png", purpose: "any" },
          { src: "/maskable-512.png", sizes: "512x512", type: "image/png", purpose: "maskable" },
        ],
      },
      // globPatterns already list every icon; these two options would only add duplicates.
      includeAssets: [],
      includeManifestIcons: false,
      injectManifest: {
        // The app shell: everything the build emits except the worker itself (never precached);
        // .bin and .wasm: the face detection model and TensorFlow.js's WebAssembly backend
        // (web/src/redaction/detect.worker.ts), so "Find faces" works offline, as fast as online.
        globPatterns: ["**/*.{js,css,html,svg,png,woff2,bin,wasm}"],
      },
      devOptions: { enabled: false, type: "module" },
    }),
  ],
});
