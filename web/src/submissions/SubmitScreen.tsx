/**
 * /submit/<link id>#<submission key id>: a submission link's public page, with no account
 * (docs/submissions.md). It shows who asks, what for, the limits and until when, after checking
 * that the key the server hands out is the one the link names (the fragment, never sent).
 */
import { useEffect, useState } from "preact/hooks";
import type { PublicSubmissionLink } from "../../../shared/api/submissions";
import { submissionKeyMatches } from "../../../shared/crypto/submission";
import { formatBytes, formatDateTime } from "../ui/format";
import { PublicLayout } from "../ui/layout";
import { messageOf } from "../ui/messages";
import { submissionsApi } from "./api";
import "./submissions.css";
import { RequestDetails } from "./RequestDetails";

type State = { kind: "loading" } | { kind: "refused"; message: string } | { kind: "open"; link: PublicSubmissionLink };

export function SubmitScreen(props: { linkId: string }) {
  const [kid] = useState(() => location.hash.replace(/^#/, ""));
  const [state, setState] = useState<State>({ kind: "loading" });

  useEffect(() => {
    if (!kid) {
      setState({ kind: "refused", message: "This link is incomplete: the part after “#” is missing. Open the full link you were sent, or scan the QR code again." });
      return;
    }
    void (async () => {
      try {
        const link = await submissionsApi.open(props.linkId);
        if (!(await submissionKeyMatches(link.submissionKey, kid))) {
          setState({ kind: "refused", message: "This link does not match the key the server offers, so nothing will be sent. Open the full link you were sent; if it still fails, tell whoever sent it." });
          return;
        }
        setState({ kind: "open", link });
      } catch (caught) {
        setState({ kind: "refused", message: messageOf(caught) });
      }
    })();
  }, [props.linkId, kid]);

  return (
    <PublicLayout>
      <h1>Send evidence</h1>
      {state.kind === "loading" && (
        <p class="muted" aria-busy="true">
          Opening the link…
        </p>
      )}
      {state.kind === "refused" && (
        <p role="alert" class="alert">
          {state.message}
        </p>
      )}
      {state.kind === "open" && (
        <div class="stack submissions">
          <p>
            <strong>{state.link.organisation}</strong> asks:
          </p>
          <p class="instructions">{state.link.instructions}</p>
          <RequestDetails request={state.link.request} />
          <p class="muted">
            Up to {state.link.maxFiles} {state.link.maxFiles === 1 ? "file" : "files"}, {formatBytes(state.link.maxBytes)} in all, until {formatDateTime(state.link.expiresAt)}.
          </p>
          <p role="status" class="alert">
            This server cannot take files through links yet. Keep what you have, and tell whoever sent you this link.
          </p>
        </div>
      )}
    </PublicLayout>
  );
}
