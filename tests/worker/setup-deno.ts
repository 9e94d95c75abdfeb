import { afterAll, beforeAll, beforeEach } from "vitest";
import { backend, startDenoBackend, stopDenoBackend } from "./backend-deno";

// Each test file gets its own Deno server on its own data folder; every test starts from an
// empty installation at the current schema (the migrations were applied when it started).
beforeAll(async () => {
  await startDenoBackend();
}, 60_000);

afterAll(async () => {
  await stopDenoBackend();
});

beforeEach(async () => {
  await backend.reset();
});
