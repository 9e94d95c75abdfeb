import { beforeEach } from "vitest";
import { backend } from "./backend";

// Every test starts from an empty installation at the current schema: all storage (D1, R2,
// Durable Objects) is wiped, then the D1 migrations are applied.
beforeEach(async () => {
  await backend.reset();
});
