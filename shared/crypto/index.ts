/**
 * Public API of the evidence crypto library (WebCrypto + jose; and hash-wasm's Argon2id for the
 * key bundle, which WebCrypto lacks, loaded only when a passphrase is derived: not in workerd,
 * which cannot compile WebAssembly at run time and never derives). See docs/evidence-format.md.
 */
export * from "./errors";
export * from "./encoding";
export * from "./sha512";
export * from "./keys";
export * from "./stream";
export * from "./manifest";
export * from "./label";
export * from "./thumbnail";
export * from "./package";
export * from "./verify-package";
export * from "./share";
export * from "./submission";
export * from "./submission-intake";
export * from "./filing";
