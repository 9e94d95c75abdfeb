/**
 * /s/<share id>#<secret>: a link share's portal, before any account (docs/disclosure.md §1.1).
 * The secret stays in the fragment (never sent); the access code, given separately, opens a link
 * session on the server; the secret's link key opens the share key here.
 */
import { useState } from "preact/hooks";
import type { ReceivedShare } from "../../../shared/api/shares";
import type { UnlockedKey } from "../../../shared/crypto/index";
import { ApiError } from "../api/client";
import { PublicLayout } from "../ui/layout";
import { messageOf } from "../ui/messages";
import { sharedApi, type RecipientAuth } from "./api";
import { openShareKey, signShareReceipt } from "./crypto";
import { ShareView } from "./ShareView";

export function LinkScreen(props: { shareId: string }) {
  const [secret] = useState(() => location.hash.replace(/^#/, ""));
  const [code, setCode] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const [opened, setOpened] = useState<{ share: ReceivedShare; shareKey: UnlockedKey; auth: RecipientAuth }>();

  async function open(event: Event) {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const { token } = await sharedApi.openLink(props.shareId, code);
      const auth: RecipientAuth = { kind: "link", token };
      const share = await sharedApi.get(auth, props.shareId);
      let shareKey: UnlockedKey;
      try {
        shareKey = await openShareKey(share, { secret });
      } catch {
        throw new ApiError(400, "link_incomplete", "This link's secret does not open the share: the link may have been cut short. Open the full link you were sent.");
      }
      setOpened({ share, shareKey, auth });
    } catch (caught) {
      setError(messageOf(caught));
    } finally {
      setBusy(false);
    }
  }

  if (opened) {
    return (
      <PublicLayout>
        <ShareView share={opened.share} shareKey={opened.shareKey} auth={opened.auth} recipientName={null} signReceipt={(name) => signShareReceipt(opened.share, { linkName: name })} />
      </PublicLayout>
    );
  }
  return (
    <PublicLayout>
      <h1>Evidence shared with you</h1>
      {!secret ? (
        <p role="alert" class="alert">
          This link is incomplete: the part after “#” is missing. Open the full link you were sent.
        </p>
      ) : (
        <form class="stack" onSubmit={(event) => void open(event)}>
          <p>Enter the access code the sender gave you separately (by phone or another message).</p>
          <label>
            Access code
            <input value={code} onInput={(event) => setCode((event.currentTarget as HTMLInputElement).value)} autocomplete="off" autocapitalize="characters" required />
          </label>
          {error && (
            <p role="alert" class="alert">
              {error}
            </p>
          )}
          <button type="submit" class="primary" disabled={busy} aria-busy={busy || undefined}>
            {busy ? "Opening…" : "Open"}
          </button>
        </form>
      )}
    </PublicLayout>
  );
}
