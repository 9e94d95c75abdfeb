/** Email settings (Admin → Settings → Email) and the test message: docs/deploy.md "Email". */
import { z } from "zod";

export const MAIL_TRANSPORTS = ["none", "smtp", "http"] as const;

const Host = z.string().trim().min(1, "Enter the mail server's host name.").max(253).regex(/^[A-Za-z0-9.-]+$|^\[[0-9A-Fa-f:.]+\]$/, "A host name, such as smtp.example.org.");
const Address = z.email("Enter an email address.").max(254);

/** What an administrator sees: secrets only as "set" flags. */
export const MailSettings = z
  .object({
    transport: z.enum(MAIL_TRANSPORTS),
    fromAddress: z.string(),
    fromName: z.string(),
    smtp: z.object({ host: z.string(), port: z.number().int(), security: z.enum(["tls", "starttls", "none"]), username: z.string(), passwordSet: z.boolean() }).nullable(),
    http: z.object({ url: z.string(), tokenSet: z.boolean() }).nullable(),
  })
  .meta({ id: "MailSettings", description: "How the organisation sends email (none: links are shown to copy). Secrets are never returned." });
export type MailSettings = z.infer<typeof MailSettings>;

/** The settings to save. A secret left out keeps the one saved; an empty string clears it. */
export const UpdateMailSettingsRequest = z
  .discriminatedUnion("transport", [
    z.strictObject({ transport: z.literal("none") }),
    z.strictObject({
      transport: z.literal("smtp"),
      fromAddress: Address,
      fromName: z.string().trim().min(1).max(100),
      smtp: z.strictObject({
        host: Host,
        port: z.number().int().min(1, "A port from 1 to 65535.").max(65535, "A port from 1 to 65535."),
        security: z.enum(["tls", "starttls", "none"]),
        username: z.string().max(254).default(""),
        password: z.string().max(1024).optional(),
      }),
    }),
    z.strictObject({
      transport: z.literal("http"),
      fromAddress: Address,
      fromName: z.string().trim().min(1).max(100),
      http: z.strictObject({
        url: z.url({ protocol: /^https?$/, error: "An https:// URL (http:// only for localhost)." }).max(2048),
        token: z.string().max(4096).optional(),
      }),
    }),
  ])
  .meta({ id: "UpdateMailSettingsRequest" });
export type UpdateMailSettingsRequest = z.input<typeof UpdateMailSettingsRequest>;

export const MailTestRequest = z.strictObject({ to: Address }).meta({ id: "MailTestRequest", description: "Where to send a test message." });

export const MailTestResult = z.object({ sent: z.literal(true), to: z.string() }).meta({ id: "MailTestResult" });
export type MailTestResult = z.infer<typeof MailTestResult>;
