/**
 * Global setup of the `worker` test project: the API tests run inside workerd, but an OpenID
 * provider needs Node, so it runs here, in the test runner's process, for the whole run. Tests
 * read the issuers with `inject("oidcIssuer")` and `inject("fakeOidcIssuer")`.
 */
import type { TestProject } from "vitest/node";
import { startFakeProvider, startOidcProvider } from "./oidc-provider";

declare module "vitest" {
  export interface ProvidedContext {
    /** oidc-provider, with the client registered for http://localhost:8787/api/oidc/callback. */
    oidcIssuer: string;
    /** The fake provider that serves crafted ID tokens. */
    fakeOidcIssuer: string;
  }
}

/** The origin the API tests send their requests to (tests/worker/helpers.ts ORIGIN). */
const TEST_ORIGIN = "http://localhost:8787";

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const real = await startOidcProvider({ redirectUris: [`${TEST_ORIGIN}/api/oidc/callback`] });
  const fake = await startFakeProvider();
  project.provide("oidcIssuer", real.issuer);
  project.provide("fakeOidcIssuer", fake.issuer);
  return async () => {
    await real.close();
    await fake.close();
  };
}
