import { HTTPException } from "hono/http-exception";
import { z } from "zod";
import { getSettings } from "../db/identity";
import { passwordProblem } from "./password";

/**
 * Checks a new password against the organisation's policy; a refusal is a 400
 * `validation_failed` naming `field`, like any other invalid input, so forms show it in place.
 */
export async function enforcePasswordPolicy(
  db: D1Database,
  input: { orgId: string | null; password: string; email?: string; field: string[] },
): Promise<void> {
  const settings = await getSettings(db, input.orgId);
  const problem = await passwordProblem(input.password, { minLength: settings.passwordMinLength, email: input.email });
  if (problem) {
    throw new HTTPException(400, {
      cause: new z.ZodError([{ code: "custom", path: input.field, message: problem, input: undefined }]),
    });
  }
}
