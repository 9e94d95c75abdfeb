import pkg from "../../package.json" with { type: "json" };

/** The app's version, from package.json, reported by /api/health and the OpenAPI document. */
export const APP_VERSION: string = pkg.version;
