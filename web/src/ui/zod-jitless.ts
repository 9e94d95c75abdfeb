/**
 * zod without its JIT: zod compiles object parsers with `new Function` where eval works, and
 * probes for that on first use. The Content-Security-Policy refuses eval (worker/src/lib/
 * security-headers.ts), so the probe would be refused and reported as a violation on every page.
 * Imported first by each entry point (page, Web Workers, service worker).
 */
import { z } from "zod";

z.config({ jitless: true });
