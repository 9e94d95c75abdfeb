/**
 * What the worker imports from `cloudflare:workers`, for the Deno host (deno.json maps the
 * module here): the `DurableObject` base class. Its constructor keeps `ctx` and `env`, as
 * Cloudflare's does.
 */
export class DurableObject<Env = unknown> {
  protected ctx: DurableObjectState;
  protected env: Env;

  constructor(ctx: DurableObjectState, env: Env) {
    this.ctx = ctx;
    this.env = env;
  }
}
