import type { Hono, MiddlewareHandler } from "hono";
import { z } from "zod";
import "../../../shared/api/schemas"; // registers the named schemas
import "../../../shared/api/audit";
import "../../../shared/api/cases";
import "../../../shared/api/video";

/**
 * OpenAPI from the same zod schemas the routes validate with. `validate()` and `describe()`
 * tag their middleware with what they know; `openApiDocument()` walks the app's routes and
 * reads the tags back, so the document cannot drift from the code.
 */

/** Who may call a route: anyone, a signed-in user, an administrator, or a site's agent (signed request, docs/agent.md). */
type Access = "public" | "session" | "admin" | "agent";

interface InputSpec {
  kind: "input";
  target: string;
  schema: z.ZodType;
}
interface RouteSpec {
  kind: "route";
  summary: string;
  access: Access;
  responses: Record<number, { description: string; schema?: z.ZodType }>;
  /** Does the route change state (and so write an audit event)? Defaults to method != GET. */
  mutates?: boolean;
}
type Spec = InputSpec | RouteSpec;

const SPEC = Symbol("openapi");

export function attachSpec<M extends object>(middleware: M, spec: Spec): M {
  return Object.assign(middleware, { [SPEC]: spec });
}

function specOf(handler: unknown): Spec | undefined {
  return (handler as { [SPEC]?: Spec } | undefined)?.[SPEC];
}

/** Documents a route: a no-op middleware carrying its summary, access and responses. */
export function describe(spec: Omit<RouteSpec, "kind">): MiddlewareHandler {
  const middleware: MiddlewareHandler = async (_c, next) => {
    await next();
  };
  return attachSpec(middleware, { kind: "route", ...spec });
}

const ERROR_RESPONSES: Record<number, string> = {
  400: "The request is not valid (malformed JSON, wrong types, unknown fields).",
  401: "Not signed in, or the session has ended.",
  403: "Signed in, but not allowed to do this.",
  413: "The request body is too large.",
};

const componentRef = (id: string) => `#/components/schemas/${id}`;

/** A schema as JSON Schema: a named schema (`.meta({ id })`) as a `$ref` to its component. */
function jsonSchema(schema: z.ZodType, io: "input" | "output") {
  const id = z.globalRegistry.get(schema)?.id;
  if (id) return { $ref: componentRef(id) };
  const { $schema: _, ...rest } = z.toJSONSchema(schema, { target: "openapi-3.0", io, unrepresentable: "any" });
  return rest;
}

/** Every named schema, for `components.schemas`. */
function components() {
  const { schemas } = z.toJSONSchema(z.globalRegistry, { target: "openapi-3.0", io: "output", unrepresentable: "any", uri: componentRef });
  return Object.fromEntries(Object.entries(schemas).map(([id, { $id: _, $schema: __, ...schema }]) => [id, schema]));
}

/** Builds the OpenAPI 3.0 document for every described route of `app`. */
export function openApiDocument(app: Hono<any, any, any>, info: { version: string }) {
  const operations = new Map<string, { method: string; path: string; specs: Spec[] }>();
  for (const route of app.routes) {
    const spec = specOf(route.handler);
    if (!spec || route.method === "ALL") continue;
    const key = `${route.method} ${route.path}`;
    const op = operations.get(key) ?? { method: route.method.toLowerCase(), path: route.path, specs: [] };
    op.specs.push(spec);
    operations.set(key, op);
  }

  const paths: Record<string, Record<string, unknown>> = {};
  for (const { method, path, specs } of operations.values()) {
    const route = specs.find((s): s is RouteSpec => s.kind === "route");
    if (!route) continue;
    const inputs = specs.filter((s): s is InputSpec => s.kind === "input");
    const openApiPath = path.replace(/:(\w+)/g, "{$1}");
    const parameters = inputs
      .filter((i) => i.target === "param" || i.target === "query")
      .flatMap((i) => {
        const shape = jsonSchema(i.schema, "input") as { properties?: Record<string, unknown>; required?: string[] };
        return Object.entries(shape.properties ?? {}).map(([name, schema]) => ({
          name,
          in: i.target === "param" ? "path" : "query",
          required: i.target === "param" || (shape.required ?? []).includes(name),
          schema,
        }));
      });
    const body = inputs.find((i) => i.target === "json");
    const responses: Record<string, unknown> = {};
    for (const [status, response] of Object.entries(route.responses)) {
      responses[status] = response.schema
        ? { description: response.description, content: { "application/json": { schema: jsonSchema(response.schema, "output") } } }
        : { description: response.description };
    }
    const errorStatuses = [
      ...(body || parameters.length ? [400] : []),
      ...(route.access !== "public" ? [401] : []),
      ...(route.access === "admin" ? [403] : []),
      ...(body ? [413] : []),
    ];
    for (const status of errorStatuses) {
      responses[status] ??= {
        description: ERROR_RESPONSES[status],
        content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } },
      };
    }
    paths[openApiPath] ??= {};
    paths[openApiPath][method] = {
      summary: route.summary,
      ...(parameters.length ? { parameters } : {}),
      ...(body
        ? { requestBody: { required: true, content: { "application/json": { schema: jsonSchema(body.schema, "input") } } } }
        : {}),
      responses,
      ...(route.access === "public" ? { security: [] } : route.access === "agent" ? { security: [{ agentSignature: [] }] } : {}),
      "x-custody-access": route.access,
      "x-custody-mutates": route.mutates ?? method !== "get",
    };
  }

  return {
    openapi: "3.0.3",
    info: {
      title: "Custody API",
      version: info.version,
      description: "End-to-end encrypted evidence management. The server never sees plaintext or an unwrapped key.",
    },
    components: {
      securitySchemes: {
        session: { type: "apiKey", in: "cookie", name: "custody_session" },
        agentSignature: { type: "apiKey", in: "header", name: "Authorization", description: "`Custody-Agent <compact JWS>`: a site agent's signed request (docs/agent.md)." },
      },
      schemas: components(),
    },
    security: [{ session: [] }],
    paths,
  };
}
