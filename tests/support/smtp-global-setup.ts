/**
 * Global setup of the `worker` and `worker-deno` projects: a real SMTP server (Debian's
 * python3-aiosmtpd, tests/support/smtp.ts) on 127.0.0.1 for the whole run, with an HTTP reader
 * of the messages it accepted. Tests read `inject("smtpPort")` and `inject("smtpInbox")`; each
 * sends to recipients of its own.
 */
import type { TestProject } from "vitest/node";
import { HTTP_MAIL_TOKEN, SMTP_PASSWORD, SMTP_USER, startSmtp } from "./smtp";

declare module "vitest" {
  export interface ProvidedContext {
    smtpPort: number;
    /** GET <smtpInbox>/messages: every message accepted so far. */
    smtpInbox: string;
    /** The test server's one AUTH account, and the token its stand-in HTTP mail API wants. */
    smtpAccount: { user: string; password: string; httpMailToken: string };
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const smtp = await startSmtp();
  project.provide("smtpPort", smtp.port);
  project.provide("smtpInbox", smtp.inboxUrl);
  project.provide("smtpAccount", { user: SMTP_USER, password: SMTP_PASSWORD, httpMailToken: HTTP_MAIL_TOKEN });
  return () => smtp.close();
}
