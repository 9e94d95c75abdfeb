/** Public API of the evidence crypto library (WebCrypto + jose only; see docs/evidence-format.md). */
export * from "./errors";
export * from "./encoding";
export * from "./sha512";
export * from "./keys";
export * from "./stream";
export * from "./manifest";
export * from "./label";
export * from "./package";
export * from "./verify-package";
export * from "./share";
