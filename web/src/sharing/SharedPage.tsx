/**
 * /shared: a guest's portal (docs/disclosure.md): the shares made to them; `?share=…` one share,
 * opened with the guest's own encryption key. A guest sees nothing else of the organisation.
 */
import { useEffect, useState } from "preact/hooks";
import type { SessionInfo } from "../../../shared/api/schemas";
import type { ReceivedShare, ReceivedShareSummary } from "../../../shared/api/shares";
import type { UnlockedKey } from "../../../shared/crypto/index";
import type { DeviceKeys } from "../keys/store";
import { formatDateTime } from "../ui/format";
import { PageHeading } from "../ui/layout";
import { messageOf } from "../ui/messages";
import { sharedApi } from "./api";
import { openShareKey, signShareReceipt } from "./crypto";
import { LEVEL_LABELS } from "./labels";
import { ShareView } from "./ShareView";
import "./sharing.css";

export function SharedPage(props: { session: SessionInfo; keys: DeviceKeys; shareId: string | null }) {
  return props.shareId ? <OneShare key={props.shareId} {...props} shareId={props.shareId} /> : <ShareList />;
}

function ShareList() {
  const [shares, setShares] = useState<ReceivedShareSummary[]>();
  const [error, setError] = useState<string>();
  useEffect(() => {
    sharedApi.mine().then((list) => setShares(list.shares), (caught) => setError(messageOf(caught)));
  }, []);
  return (
    <>
      <PageHeading>Shared with me</PageHeading>
      {error && (
        <p role="alert" class="alert">
          {error}
        </p>
      )}
      {shares && shares.length === 0 && <p class="muted">Nothing is shared with you at the moment. Shares end on their expiry date, or when the sender revokes them.</p>}
      {shares && shares.length > 0 && (
        <ul class="share-list" aria-label="Shares">
          {shares.map((share) => (
            <li key={share.id} class="card">
              <h2>
                <a href={`/shared?share=${share.id}`}>
                  Case {share.case.number}: {share.case.title}
                </a>
              </h2>
              <p class="muted">
                From {share.from.name}, {share.from.organisation} · {share.itemCount} {share.itemCount === 1 ? "item" : "items"} · {LEVEL_LABELS[share.level]} · until {formatDateTime(share.expiresAt)}
              </p>
            </li>
          ))}
        </ul>
      )}
    </>
  );
}

function OneShare(props: { session: SessionInfo; keys: DeviceKeys; shareId: string }) {
  const [opened, setOpened] = useState<{ share: ReceivedShare; shareKey: UnlockedKey }>();
  const [error, setError] = useState<string>();
  useEffect(() => {
    (async () => {
      const share = await sharedApi.get({ kind: "guest" }, props.shareId);
      setOpened({ share, shareKey: await openShareKey(share, { guestKey: props.keys.encryption }) });
    })().catch((caught) => setError(messageOf(caught)));
  }, [props.shareId]);
  return (
    <>
      <p class="breadcrumb">
        <a href="/shared">← Shared with me</a>
      </p>
      {error && (
        <p role="alert" class="alert">
          {error}
        </p>
      )}
      {!opened && !error && (
        <p class="muted" aria-busy="true">
          Opening the share…
        </p>
      )}
      {opened && (
        <ShareView
          share={opened.share}
          shareKey={opened.shareKey}
          auth={{ kind: "guest" }}
          recipientName={props.session.user.name}
          signReceipt={() => signShareReceipt(opened.share, { guest: { ...props.keys, name: props.session.user.name } })}
        />
      )}
    </>
  );
}
