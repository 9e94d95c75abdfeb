import { applyD1Migrations, env, reset } from "cloudflare:test";
import { beforeEach } from "vitest";

// Every test starts from an empty installation at the current schema: all storage (D1, R2,
// Durable Objects) is wiped, then the D1 migrations are applied.
beforeEach(async () => {
  await reset();
  await applyD1Migrations(env.DB, env.TEST_MIGRATIONS);
});

// Production Workers refuse PBKDF2 above 100,000 iterations, but the open-source workerd
// under test does not (cloudflare/workerd#1346). Enforce the production ceiling here so a
// change that would fail on Cloudflare fails in the tests first.
const PRODUCTION_PBKDF2_LIMIT = 100_000;
const deriveBits = crypto.subtle.deriveBits.bind(crypto.subtle);
crypto.subtle.deriveBits = (algorithm, baseKey, length) => {
  const iterations = (algorithm as { iterations?: unknown }).iterations;
  if (typeof iterations === "number" && iterations > PRODUCTION_PBKDF2_LIMIT) {
    return Promise.reject(new DOMException(`Pbkdf2 failed: iteration counts above ${PRODUCTION_PBKDF2_LIMIT} are not supported`, "NotSupportedError"));
  }
  return deriveBits(algorithm, baseKey, length);
};
