import { zValidator } from "@hono/zod-validator";
import { HTTPException } from "hono/http-exception";
import type { ValidationTargets } from "hono";
import type { z } from "zod";
import { attachSpec } from "./openapi";

/**
 * The one validator every route uses: parses `target` with `schema`; on failure throws a 400
 * whose cause is the ZodError, which `app.onError` turns into the uniform error body. The
 * schema is also recorded for the OpenAPI document.
 */
export function validate<Target extends keyof ValidationTargets, Schema extends z.ZodType>(
  target: Target,
  schema: Schema,
) {
  const middleware = zValidator(target, schema, (result) => {
    if (!result.success) throw new HTTPException(400, { cause: result.error });
  });
  return attachSpec(middleware, { kind: "input", target, schema });
}
