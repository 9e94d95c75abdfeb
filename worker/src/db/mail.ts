/** The organisation's mail settings (migrations/0016_mail_settings.sql); secrets stay sealed here. */
export interface MailSettingsRow {
  org_id: string;
  transport: "none" | "smtp" | "http";
  from_address: string;
  from_name: string;
  smtp_host: string | null;
  smtp_port: number | null;
  smtp_security: "tls" | "starttls" | "none" | null;
  smtp_username: string | null;
  smtp_password: string | null;
  http_url: string | null;
  http_token: string | null;
  updated_by: string | null;
  updated_at: string;
}

export function findMailSettings(db: D1Database, orgId: string): Promise<MailSettingsRow | null> {
  return db.prepare("SELECT * FROM mail_settings WHERE org_id = ?").bind(orgId).first<MailSettingsRow>();
}

export function mailSettingsSave(db: D1Database, row: MailSettingsRow): D1PreparedStatement {
  return db
    .prepare(
      `INSERT INTO mail_settings (org_id, transport, from_address, from_name, smtp_host, smtp_port, smtp_security, smtp_username, smtp_password, http_url, http_token, updated_by, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (org_id) DO UPDATE SET transport = excluded.transport, from_address = excluded.from_address, from_name = excluded.from_name,
         smtp_host = excluded.smtp_host, smtp_port = excluded.smtp_port, smtp_security = excluded.smtp_security, smtp_username = excluded.smtp_username,
         smtp_password = excluded.smtp_password, http_url = excluded.http_url, http_token = excluded.http_token, updated_by = excluded.updated_by, updated_at = excluded.updated_at`,
    )
    .bind(row.org_id, row.transport, row.from_address, row.from_name, row.smtp_host, row.smtp_port, row.smtp_security, row.smtp_username, row.smtp_password, row.http_url, row.http_token, row.updated_by, row.updated_at);
}
