/**
 * A case's legal holds, on its page: every member sees them; its leads (and administrators)
 * place a hold on the whole case with a reason. Only an administrator lifts one (Admin → Retention).
 */
import type { TargetedSubmitEvent } from "preact";
import { useEffect, useState } from "preact/hooks";
import type { Hold } from "../../../shared/api/retention";
import { formatDateTime } from "../ui/format";
import { messageOf } from "../ui/messages";
import { useReachable } from "../offline/useReachable";
import { retentionApi } from "./api";
import "./retention.css";

export function CaseHolds(props: { caseId: string; canPlace: boolean }) {
  const reachable = useReachable();
  const [holds, setHolds] = useState<Hold[]>();
  const [placing, setPlacing] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  useEffect(() => {
    if (!reachable) return;
    retentionApi.caseHolds(props.caseId).then((list) => setHolds(list.holds), () => setHolds(undefined));
  }, [props.caseId, reachable]);

  async function submit(event: TargetedSubmitEvent<HTMLFormElement>) {
    event.preventDefault();
    const reason = String(new FormData(event.currentTarget).get("reason") ?? "").trim();
    if (reason.length < 3) return setError("Give the reason for the hold (at least 3 characters).");
    setBusy(true);
    setError(undefined);
    try {
      setHolds((await retentionApi.placeHold({ caseId: props.caseId, reason })).holds);
      setPlacing(false);
    } catch (caught) {
      setError(messageOf(caught));
    } finally {
      setBusy(false);
    }
  }

  if (!holds) return null;
  const active = holds.filter((h) => h.liftedAt === null);
  return (
    <section aria-labelledby="holds-heading" class="card">
      <h2 id="holds-heading">Legal holds</h2>
      {active.length === 0 && <p class="muted">No legal hold: evidence is kept as its category says.</p>}
      {active.length > 0 && (
        <ul class="retention-list" aria-label="Legal holds on this case">
          {active.map((h) => (
            <li key={h.id}>
              <p>
                <strong>{h.evidenceId ? `Item ${h.evidenceId.slice(0, 8)}` : "The whole case"}</strong>: “{h.reason}”
              </p>
              <p class="hint">
                Placed by {h.setBy.name}, {formatDateTime(h.setAt)}. Nothing held is deleted; only an administrator can lift it.
              </p>
            </li>
          ))}
        </ul>
      )}
      {props.canPlace && reachable && !placing && (
        <button type="button" onClick={() => setPlacing(true)}>
          Place legal hold
        </button>
      )}
      {placing && (
        <form onSubmit={(event) => void submit(event)} aria-label="Place legal hold" noValidate>
          <div class="field">
            <label for="hold-reason">Reason for the hold</label>
            <input id="hold-reason" name="reason" required maxLength={500} />
          </div>
          {error && (
            <p role="alert" class="alert">
              {error}
            </p>
          )}
          <div class="actions">
            <button type="submit" class="primary" disabled={busy}>
              {busy ? "Placing…" : "Place hold"}
            </button>
            <button type="button" onClick={() => setPlacing(false)} disabled={busy}>
              Cancel
            </button>
          </div>
        </form>
      )}
    </section>
  );
}
