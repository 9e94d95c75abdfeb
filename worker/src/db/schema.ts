/** How many D1 migrations have been applied (wrangler's and the test pool's `d1_migrations` table). */
export async function schemaVersion(db: D1Database): Promise<number> {
  const row = await db.prepare("SELECT count(*) AS applied FROM d1_migrations").first<{ applied: number }>();
  return row?.applied ?? 0;
}
