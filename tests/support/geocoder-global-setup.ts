/**
 * Global setup of the `worker` and `worker-deno` projects: a real HTTP server on 127.0.0.1
 * standing in for a Nominatim geocoder (its `/search` answer shape, `format=jsonv2`). It knows
 * one address ("Quay Street"), answers HTTP 503 for "unavailable", and keeps the queries it was
 * asked (GET /asked) so a test can see what left the server. Tests read `inject("geocoderUrl")`.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import type { TestProject } from "vitest/node";

declare module "vitest" {
  export interface ProvidedContext {
    /** The stand-in geocoder's search URL. */
    geocoderUrl: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const asked: { q: string | null; format: string | null; userAgent: string | null }[] = [];
  const server = createServer((request, response) => {
    const url = new URL(request.url ?? "/", "http://127.0.0.1");
    if (url.pathname === "/asked") {
      response.writeHead(200, { "Content-Type": "application/json" }).end(JSON.stringify(asked));
      return;
    }
    const q = url.searchParams.get("q");
    asked.push({ q, format: url.searchParams.get("format"), userAgent: request.headers["user-agent"] ?? null });
    if (url.pathname !== "/search") return void response.writeHead(404).end();
    if (q === "unavailable") return void response.writeHead(503).end("busy");
    const places = /quay street/i.test(q ?? "")
      ? [{ place_id: 1, display_name: "Quay Street, Harbourside, Northshire", lat: "51.4545", lon: "-2.5879", type: "residential" }]
      : [];
    response.writeHead(200, { "Content-Type": "application/json" }).end(JSON.stringify(places));
  });
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  project.provide("geocoderUrl", `http://127.0.0.1:${(server.address() as AddressInfo).port}/search`);
  return () => new Promise<void>((done) => server.close(() => done()));
}
