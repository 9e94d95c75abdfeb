/** A record's reference in its case's object: SHA-256 of its body (UTF-8), base64url (docs/storage-schema.md, "What grows with evidence"). */
export async function recordRefOf(body: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(body)));
  let binary = "";
  for (const byte of digest) binary += String.fromCharCode(byte);
  return btoa(binary).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}
