/**
 * Retention on an evidence item's page: why it is kept (its category and rule, when its
 * retention ends, any holds) or where it stands in deletion; a lead (or an administrator) places
 * a hold on the item or moves it to another category, with a reason; its uploader asks for it
 * to be deleted (added by mistake), with a reason, for an administrator's approval.
 */
import type { TargetedSubmitEvent } from "preact";
import { useEffect, useState } from "preact/hooks";
import { describeRule, type Category, type RetentionStatus } from "../../../shared/api/retention";
import { useReachable } from "../offline/useReachable";
import { messageOf } from "../ui/messages";
import { retentionApi } from "./api";
import "./retention.css";

type Action = "hold" | "category" | "delete";

export function ItemRetention(props: { evidenceId: string; caseId: string; canManage: boolean; isUploader: boolean; canRequest: boolean }) {
  const reachable = useReachable();
  const [status, setStatus] = useState<RetentionStatus>();
  const [categories, setCategories] = useState<Category[]>();
  const [action, setAction] = useState<Action>();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const [notice, setNotice] = useState<string>();

  const load = () => retentionApi.status(props.evidenceId).then(setStatus, () => setStatus(undefined));
  useEffect(() => {
    if (reachable) void load();
  }, [props.evidenceId, reachable]);
  useEffect(() => {
    if (action === "category" && !categories) retentionApi.categories().then((list) => setCategories(list.categories), (caught: unknown) => setError(messageOf(caught)));
  }, [action]);

  async function submit(event: TargetedSubmitEvent<HTMLFormElement>) {
    event.preventDefault();
    const data = new FormData(event.currentTarget);
    const reason = String(data.get("reason") ?? "").trim();
    if (reason.length < 3) return setError("Give a reason (at least 3 characters).");
    setBusy(true);
    setError(undefined);
    try {
      if (action === "hold") await retentionApi.placeHold({ caseId: props.caseId, evidenceId: props.evidenceId, reason });
      if (action === "category") await retentionApi.changeCategory(props.evidenceId, String(data.get("categoryId")), reason);
      if (action === "delete") await retentionApi.requestDeletion(props.evidenceId, reason);
      setNotice(action === "hold" ? "Legal hold placed." : action === "category" ? "Category changed." : "Asked: an administrator will review it.");
      setAction(undefined);
      await load();
    } catch (caught) {
      setError(messageOf(caught));
    } finally {
      setBusy(false);
    }
  }

  if (!status) return null;
  const active = status.holds.filter((h) => h.liftedAt === null);
  return (
    <section aria-labelledby="retention-heading" class="card">
      <h2 id="retention-heading">Retention</h2>
      <p>{status.explanation}</p>
      {status.category && <p class="hint">Category: {status.category.name} ({describeRule(status.category.rule).toLowerCase()}).</p>}
      {active.length > 0 && (
        <ul class="retention-list" aria-label="Legal holds on this item">
          {active.map((h) => (
            <li key={h.id}>
              {h.evidenceId ? "This item" : "Its case"}: “{h.reason}” (by {h.setBy.name})
            </li>
          ))}
        </ul>
      )}
      {notice && (
        <p role="status" class="notice">
          {notice}
        </p>
      )}
      {reachable && !action && (
        <div class="actions">
          {props.canManage && (
            <button type="button" onClick={() => setAction("hold")}>
              Hold this item
            </button>
          )}
          {props.canManage && (
            <button type="button" onClick={() => setAction("category")}>
              Change category
            </button>
          )}
          {props.isUploader && props.canRequest && status.state === "kept" && (
            <button type="button" onClick={() => setAction("delete")}>
              Ask to delete
            </button>
          )}
        </div>
      )}
      {action && (
        <form onSubmit={(event) => void submit(event)} aria-label={action === "hold" ? "Hold this item" : action === "category" ? "Change category" : "Ask to delete"} noValidate>
          {action === "category" && categories && (
            <div class="field">
              <label for="item-category">New category</label>
              <select id="item-category" name="categoryId">
                {categories.map((c) => (
                  <option key={c.id} value={c.id} selected={c.id === status.category?.id}>
                    {c.name}: {describeRule(c.rule).toLowerCase()}
                  </option>
                ))}
              </select>
            </div>
          )}
          <div class="field">
            <label for="item-reason">{action === "delete" ? "Why should it be deleted?" : "Reason"}</label>
            <input id="item-reason" name="reason" required maxLength={500} />
          </div>
          {error && (
            <p role="alert" class="alert">
              {error}
            </p>
          )}
          <div class="actions">
            <button type="submit" class="primary" disabled={busy}>
              {action === "hold" ? "Place hold" : action === "category" ? "Change category" : "Ask to delete"}
            </button>
            <button type="button" onClick={() => setAction(undefined)} disabled={busy}>
              Cancel
            </button>
          </div>
        </form>
      )}
    </section>
  );
}
