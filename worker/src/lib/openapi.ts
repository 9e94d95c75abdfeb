import type { Hono, MiddlewareHandler } from "hono";
import { z } from "zod";
import "../../../shared/api/schemas"; // registers the named schemas
import "../../../shared/api/audit";
import "../../../shared/api/cases";
import "../../../shared/api/video";
import "../../../shared/api/retention";

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
const JSON_SCHEMA = { target: "openapi-3.0", unrepresentable: "any" } as const;

/**
 * The named schemas (`.meta({ id })`) as components, each as the side that uses it sees it: a
 * request schema as its input (a field the server fills in when absent, `.default()`, is optional),
 * a response schema as its output (that field is always there). A schema used both ways whose two
 * sides differ gets a second component, `<id>Input`, for requests.
 */
class Components {
  private readonly plain = { input: this.render("input", componentRef), output: this.render("output", componentRef) };
  private readonly inputIds = new Set<string>();
  private readonly outputIds = new Set<string>();

  private render(io: "input" | "output", uri: (id: string) => string): Record<string, Record<string, unknown>> {
    const { schemas } = z.toJSONSchema(z.globalRegistry, { ...JSON_SCHEMA, io, uri });
    return Object.fromEntries(Object.entries(schemas).map(([id, { $id: _, $schema: __, ...schema }]) => [id, schema as Record<string, unknown>]));
  }

  /** A schema as JSON Schema for `io`: a named one as a `$ref` to its component (recorded as used that way). */
  ref(schema: z.ZodType, io: "input" | "output"): Record<string, unknown> {
    const id = z.globalRegistry.get(schema)?.id;
    if (id) {
      (io === "input" ? this.inputIds : this.outputIds).add(id);
      return { $ref: componentRef(id) };
    }
    const { $schema: _, ...rest } = z.toJSONSchema(schema, { ...JSON_SCHEMA, io });
    return rest;
  }

  /** A query or path schema's own properties (inlined even when it is named: parameters list its fields). */
  parameters(schema: z.ZodType): { properties?: Record<string, unknown>; required?: string[] } {
    type Shape = { properties?: Record<string, unknown>; required?: string[] };
    const rendered = z.toJSONSchema(schema, { ...JSON_SCHEMA, io: "input", reused: "inline" }) as Shape & { $ref?: string; definitions?: Record<string, Shape> };
    // A named schema comes back as a $ref to its own definition: its fields are there.
    return rendered.$ref ? (rendered.definitions?.[rendered.$ref.split("/").at(-1)!] ?? {}) : rendered;
  }

  /** Every component id reachable from `roots` through `$ref`s in `schemas`. */
  private reach(roots: Iterable<string>, schemas: Record<string, unknown>): Set<string> {
    const seen = new Set<string>();
    const visit = (value: unknown): void => {
      if (Array.isArray(value)) return value.forEach(visit);
      if (value === null || typeof value !== "object") return;
      for (const [key, inner] of Object.entries(value)) {
        if (key === "$ref" && typeof inner === "string" && inner.startsWith(componentRef(""))) {
          const id = inner.slice(componentRef("").length);
          if (!seen.has(id)) {
            seen.add(id);
            visit(schemas[id]);
          }
        } else visit(inner);
      }
    };
    for (const id of roots) visit({ $ref: componentRef(id) });
    return seen;
  }

  /** The finished `components.schemas`, and how to rename request `$ref`s to the `<id>Input` twins. */
  build(): { schemas: Record<string, unknown>; inputRef: (id: string) => string } {
    const inputs = this.reach(this.inputIds, this.plain.input);
    const outputs = this.reach(this.outputIds, this.plain.output);
    const twins = new Set(
      [...inputs].filter((id) => outputs.has(id) && JSON.stringify(this.plain.input[id]) !== JSON.stringify(this.plain.output[id])),
    );
    const inputRef = (id: string) => componentRef(twins.has(id) ? `${id}Input` : id);
    const input = this.render("input", inputRef);
    const schemas: Record<string, unknown> = {};
    for (const [id, schema] of Object.entries(this.plain.output)) {
      schemas[id] = inputs.has(id) && !twins.has(id) ? input[id] : schema;
      if (twins.has(id)) schemas[`${id}Input`] = input[id];
    }
    return { schemas, inputRef };
  }
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
  const components = new Components();
  for (const { method, path, specs } of operations.values()) {
    const route = specs.find((s): s is RouteSpec => s.kind === "route");
    if (!route) continue;
    const inputs = specs.filter((s): s is InputSpec => s.kind === "input");
    const openApiPath = path.replace(/:(\w+)/g, "{$1}");
    const parameters = inputs
      .filter((i) => i.target === "param" || i.target === "query")
      .flatMap((i) => {
        const shape = components.parameters(i.schema);
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
        ? { description: response.description, content: { "application/json": { schema: components.ref(response.schema, "output") } } }
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
        ? { requestBody: { required: true, content: { "application/json": { schema: components.ref(body.schema, "input") } } } }
        : {}),
      responses,
      ...(route.access === "public" ? { security: [] } : route.access === "agent" ? { security: [{ agentSignature: [] }] } : {}),
      "x-custody-access": route.access,
      "x-custody-mutates": route.mutates ?? method !== "get",
    };
  }

  const { schemas, inputRef } = components.build();
  // Request bodies name the input side of their schema (a `<id>Input` twin where the sides differ).
  for (const operations of Object.values(paths)) {
    for (const operation of Object.values(operations) as { requestBody?: { content: Record<string, { schema: { $ref?: string } }> } }[]) {
      const schema = operation.requestBody?.content["application/json"]?.schema;
      if (schema?.$ref) schema.$ref = inputRef(schema.$ref.slice(componentRef("").length));
    }
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
      schemas,
    },
    security: [{ session: [] }],
    paths,
  };
}
