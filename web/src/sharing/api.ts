/**
 * Calls of the disclosure API (docs/disclosure.md): the sharer's (a case lead's, by session) and
 * the recipient's (a guest's session, or a link session sent as a bearer token). Everything sent is
 * public keys, wrapped keys or signed receipts: no link secret and no unwrapped key.
 */
import { TimestampStatus } from "../../../shared/api/cases";
import {
  CreatedShare,
  GuestInvitation,
  GuestList,
  LinkSession,
  ReceiptDownload,
  ReceivedShare,
  ReceivedShareList,
  SharedFileKey,
  ShareList,
  type AddShareCaseKeysRequest,
  type CreateShareRequest,
  type InviteGuestRequest,
  type UpdateShareRequest,
} from "../../../shared/api/shares";
import { apiFetch, ApiError, readResponse, send } from "../api/client";

export const sharesApi = {
  list: (caseId: string) => apiFetch(`/api/cases/${caseId}/shares`, {}, ShareList),
  create: (caseId: string, json: CreateShareRequest) => apiFetch(`/api/cases/${caseId}/shares`, { method: "POST", json }, CreatedShare),
  update: (id: string, json: UpdateShareRequest) => apiFetch(`/api/shares/${id}`, { method: "PATCH", json }, CreatedShare),
  revoke: (id: string) => apiFetch(`/api/shares/${id}/revoke`, { method: "POST" }, CreatedShare),
  addCaseKeys: (id: string, json: AddShareCaseKeysRequest) => apiFetch(`/api/shares/${id}/case-keys`, { method: "POST", json }, CreatedShare),
  newAccessCode: (id: string) => apiFetch(`/api/shares/${id}/access-code`, { method: "POST" }, CreatedShare),
  receipt: (id: string, receiptId: string) => apiFetch(`/api/shares/${id}/receipts/${receiptId}`, {}, ReceiptDownload),
  guests: () => apiFetch("/api/guests", {}, GuestList),
  inviteGuest: (caseId: string, json: InviteGuestRequest) => apiFetch(`/api/cases/${caseId}/guests`, { method: "POST", json }, GuestInvitation),
};

/** How a recipient's requests are authorised: a guest's session cookie, or a link session's token. */
export type RecipientAuth = { kind: "guest" } | { kind: "link"; token: string };

function recipientInit(auth: RecipientAuth, init: RequestInit = {}): RequestInit {
  const headers = new Headers(init.headers);
  if (auth.kind === "link") headers.set("Authorization", `Bearer ${auth.token}`);
  return { ...init, headers };
}

function json(body: unknown): RequestInit {
  return { method: "POST", body: JSON.stringify(body), headers: { "Content-Type": "application/json" } };
}

export const sharedApi = {
  openLink: (shareId: string, accessCode: string) => readResponse(send(`/api/shared/links/${shareId}/open`, json({ accessCode })), LinkSession),
  mine: () => apiFetch("/api/shared", {}, ReceivedShareList),
  get: (auth: RecipientAuth, id: string) => readResponse(send(`/api/shared/${id}`, recipientInit(auth)), ReceivedShare),
  fileKey: (auth: RecipientAuth, id: string, evidenceId: string) => readResponse(send(`/api/shared/${id}/items/${evidenceId}/key`, recipientInit(auth)), SharedFileKey),
  timestamp: (auth: RecipientAuth, id: string, evidenceId: string) => readResponse(send(`/api/shared/${id}/items/${evidenceId}/timestamp`, recipientInit(auth)), TimestampStatus),
  recordAccess: (auth: RecipientAuth, id: string, evidenceId: string, action: "download" | "export") =>
    readResponse(send(`/api/shared/${id}/items/${evidenceId}/access`, recipientInit(auth, json({ action })))),
  submitReceipt: (auth: RecipientAuth, id: string, jws: string) => readResponse(send(`/api/shared/${id}/receipts`, recipientInit(auth, json({ jws }))), ReceiptDownload),
  receipt: (auth: RecipientAuth, id: string, receiptId: string) => readResponse(send(`/api/shared/${id}/receipts/${receiptId}`, recipientInit(auth)), ReceiptDownload),
  /** The item's signer's key-register entries (a JSON-lines audit export), for a court package. */
  async signerRegister(auth: RecipientAuth, id: string, evidenceId: string): Promise<string> {
    const response = await send(`/api/shared/${id}/items/${evidenceId}/signer-register`, recipientInit(auth));
    if (!response.ok) await readResponse(response);
    return response.text();
  },
  /** The item's audit extract (a JSON-lines audit export), for a case package (level export). */
  async auditExtract(auth: RecipientAuth, id: string, evidenceId: string): Promise<string> {
    const response = await send(`/api/shared/${id}/items/${evidenceId}/audit`, recipientInit(auth));
    if (!response.ok) await readResponse(response);
    return response.text();
  },
  /** Ciphertext part `n` of a shared item, retrying network errors and 5xx a few times. */
  async part(auth: RecipientAuth, id: string, evidenceId: string, n: number): Promise<Uint8Array<ArrayBuffer>> {
    let delay = 1000;
    for (let attempt = 0; ; attempt++) {
      try {
        const response = await send(`/api/shared/${id}/items/${evidenceId}/parts/${n}`, recipientInit(auth, { headers: { Accept: "application/octet-stream" } }));
        if (response.ok) return new Uint8Array(await response.arrayBuffer());
        if (response.status < 500 || attempt >= 3) return await readResponse(response).then(() => { throw new ApiError(response.status, "part_download", `Couldn't download part ${n}.`); });
      } catch (error) {
        if (!(error instanceof ApiError && error.status === 0) || attempt >= 3) throw error;
      }
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay *= 2;
    }
  },
};
