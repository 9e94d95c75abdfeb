/**
 * Global setup of the `worker` and `worker-deno` projects: a real RFC 3161 time-stamping
 * authority (tests/support/tsa.ts: `openssl ts -reply` behind an HTTP wrapper) on 127.0.0.1 for
 * the whole run, reachable from workerd and from the Deno server alike. Tests read it with
 * `inject("tsaUrl")` and `inject("tsaCaPem")`; each test uses its own endpoint path.
 */
import type { TestProject } from "vitest/node";
import { startTsa } from "./tsa";

declare module "vitest" {
  export interface ProvidedContext {
    /** http://127.0.0.1:port of the test TSA; append "/<name>" for an endpoint, PUT "/control/<name>" to set its mode. */
    tsaUrl: string;
    /** PEM of the CA that issued the test TSA's certificate. */
    tsaCaPem: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const tsa = await startTsa();
  project.provide("tsaUrl", tsa.url);
  project.provide("tsaCaPem", tsa.caPem);
  return () => tsa.close();
}
