/**
 * Admin → Retention (docs/retention.md): the "Due for deletion" report (approve, or "Check now"
 * to run the daily job at once), the recycle bin (restore), legal holds (lift), categories and
 * their rules, the organisation's retention settings, what was destroyed (tombstones), and a
 * look-up that says why any item still exists or proves it was destroyed.
 */
import type { TargetedSubmitEvent } from "preact";
import { useEffect, useState } from "preact/hooks";
import {
  describeRule,
  type Category,
  type DisposalItem,
  type Hold,
  type RetentionRule,
  type RetentionSettings,
  type RetentionStatus,
  type Tombstone,
} from "../../../shared/api/retention";
import { withReauth } from "../identity/reauth";
import { formatBytes, formatDateTime } from "../ui/format";
import { PageHeading } from "../ui/layout";
import { messageOf } from "../ui/messages";
import { caseHref } from "../ui/router";
import { retentionApi } from "./api";
import "./retention.css";

const short = (id: string) => id.slice(0, 8);
const day = (iso: string | null) => (iso ? formatDateTime(iso) : "—");

function Alert(props: { message?: string }) {
  return props.message ? (
    <p role="alert" class="alert">
      {props.message}
    </p>
  ) : null;
}

function Notice(props: { message?: string }) {
  return props.message ? (
    <p role="status" class="notice">
      {props.message}
    </p>
  ) : null;
}

export function RetentionPage() {
  const [categories, setCategories] = useState<Category[]>();
  const [version, setVersion] = useState(0);
  const refresh = () => setVersion((v) => v + 1);
  useEffect(() => {
    retentionApi.categories().then((list) => setCategories(list.categories), () => setCategories([]));
  }, [version]);

  return (
    <>
      <PageHeading>Retention</PageHeading>
      <p class="hint">
        Evidence is kept as its category says, then listed here as due for deletion. Deleted items wait in the recycle bin, then are purged: their keys are destroyed first, then every stored byte. A legal hold stops all of it.
      </p>
      <DueReport version={version} onChanged={refresh} />
      <RecycleBin version={version} onChanged={refresh} />
      <Holds version={version} onChanged={refresh} />
      <Categories categories={categories} onChanged={refresh} />
      {categories && <Settings categories={categories} />}
      <ItemLookup />
      <Destroyed version={version} />
    </>
  );
}

function ItemSummary(props: { item: DisposalItem }) {
  const i = props.item;
  return (
    <div class="retention-item">
      <p>
        <a href={caseHref(i.caseId)}>
          Case {i.caseNumber}: {i.caseTitle}
        </a>{" "}
        · item {short(i.evidenceId)} · {formatBytes(i.byteSize)} · uploaded by {i.uploader.name}
      </p>
      <p class="hint">
        {i.category.name}: {describeRule(i.category.rule)}. Received {day(i.receivedAt)}
        {i.dueAt ? `; retention ${i.dueAt <= new Date().toISOString() ? "ended" : "ends"} ${day(i.dueAt)}` : ""}.
      </p>
      {i.request && (
        <p>
          Asked to be deleted by {i.request.by.name} on {day(i.request.at)}: “{i.request.reason}”
        </p>
      )}
      {i.held && <p class="badge badge-held">Under legal hold</p>}
    </div>
  );
}

function DueReport(props: { version: number; onChanged: () => void }) {
  const [items, setItems] = useState<DisposalItem[]>();
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const [notice, setNotice] = useState<string>();
  const [declining, setDeclining] = useState<string>();

  useEffect(() => {
    retentionApi.due().then(
      (list) => {
        setItems(list.items);
        setSelected((current) => new Set([...current].filter((id) => list.items.some((i) => i.evidenceId === id && !i.held))));
      },
      (caught: unknown) => setError(messageOf(caught)),
    );
  }, [props.version]);

  async function checkNow() {
    setBusy(true);
    setError(undefined);
    try {
      const result = await retentionApi.run();
      setNotice(`Checked: ${result.due} newly due, ${result.autoDeleted} deleted automatically, ${result.purged} purged.`);
      props.onChanged();
    } catch (caught) {
      setError(messageOf(caught));
    } finally {
      setBusy(false);
    }
  }

  async function approveSelected() {
    setBusy(true);
    setError(undefined);
    try {
      const result = await withReauth(() => retentionApi.approve([...selected]));
      const refused = result.refused.map((r) => `${short(r.evidenceId)}: ${r.message}`).join(" ");
      setNotice(`${result.deleted.length} ${result.deleted.length === 1 ? "item" : "items"} moved to the recycle bin.${refused ? ` Not deleted: ${refused}` : ""}`);
      setSelected(new Set());
      props.onChanged();
    } catch (caught) {
      setError(messageOf(caught));
    } finally {
      setBusy(false);
    }
  }

  const toggle = (id: string, on: boolean) => setSelected((current) => {
    const next = new Set(current);
    if (on) next.add(id);
    else next.delete(id);
    return next;
  });

  return (
    <section class="card" aria-labelledby="due-heading">
      <h2 id="due-heading">Due for deletion</h2>
      <p class="hint">Items past their retention (the daily check lists them) and items their uploader asked to delete. Approving moves them to the recycle bin.</p>
      <div class="actions">
        <button type="button" disabled={busy} onClick={() => void checkNow()}>
          Check now
        </button>
        <button type="button" class="primary" disabled={busy || selected.size === 0} onClick={() => void approveSelected()}>
          {selected.size === 0 ? "Approve deletion" : `Approve deletion of ${selected.size} ${selected.size === 1 ? "item" : "items"}`}
        </button>
      </div>
      <Alert message={error} />
      <Notice message={notice} />
      {items && items.length === 0 && <p class="empty">Nothing is due for deletion.</p>}
      {items && items.length > 0 && (
        <ul class="retention-list" aria-label="Due for deletion">
          {items.map((item) => (
            <li key={item.evidenceId}>
              <label class="check">
                <input
                  type="checkbox"
                  disabled={item.held}
                  checked={selected.has(item.evidenceId)}
                  onChange={(event) => toggle(item.evidenceId, event.currentTarget.checked)}
                  aria-label={`Select item ${short(item.evidenceId)} of case ${item.caseNumber}`}
                />
              </label>
              <ItemSummary item={item} />
              {item.request && declining !== item.evidenceId && (
                <button type="button" onClick={() => setDeclining(item.evidenceId)} aria-label={`Decline the request to delete item ${short(item.evidenceId)}`}>
                  Decline request
                </button>
              )}
              {declining === item.evidenceId && (
                <ReasonForm
                  label="Reason for keeping it"
                  submit="Decline request"
                  onCancel={() => setDeclining(undefined)}
                  onSubmit={async (reason) => {
                    await retentionApi.decline(item.evidenceId, reason);
                    setDeclining(undefined);
                    setNotice("Request declined: the item is kept.");
                    props.onChanged();
                  }}
                />
              )}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

function ReasonForm(props: { label: string; submit: string; onSubmit: (reason: string) => Promise<void>; onCancel: () => void }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  async function submit(event: TargetedSubmitEvent<HTMLFormElement>) {
    event.preventDefault();
    const reason = String(new FormData(event.currentTarget).get("reason") ?? "").trim();
    if (reason.length < 3) return setError("Give a reason (at least 3 characters).");
    setBusy(true);
    setError(undefined);
    try {
      await props.onSubmit(reason);
    } catch (caught) {
      setError(messageOf(caught));
      setBusy(false);
    }
  }
  return (
    <form class="reason-form" onSubmit={(event) => void submit(event)} noValidate>
      <div class="field">
        <label>
          {props.label}
          <input name="reason" required />
        </label>
      </div>
      <Alert message={error} />
      <div class="actions">
        <button type="submit" class="primary" disabled={busy}>
          {props.submit}
        </button>
        <button type="button" onClick={props.onCancel} disabled={busy}>
          Cancel
        </button>
      </div>
    </form>
  );
}

function RecycleBin(props: { version: number; onChanged: () => void }) {
  const [items, setItems] = useState<DisposalItem[]>();
  const [restoring, setRestoring] = useState<string>();
  const [error, setError] = useState<string>();
  useEffect(() => {
    retentionApi.bin().then((list) => setItems(list.items), (caught: unknown) => setError(messageOf(caught)));
  }, [props.version]);

  return (
    <section class="card" aria-labelledby="bin-heading">
      <h2 id="bin-heading">Recycle bin</h2>
      <p class="hint">Deleted items stay here for the organisation's set period, and can be restored, until they are purged.</p>
      <Alert message={error} />
      {items && items.length === 0 && <p class="empty">The recycle bin is empty.</p>}
      {items && items.length > 0 && (
        <ul class="retention-list" aria-label="Recycle bin">
          {items.map((item) => (
            <li key={item.evidenceId}>
              <ItemSummary item={item} />
              <p>
                Deleted {day(item.deletedAt)} {item.deletedBy ? `(approved by ${item.deletedBy.name})` : "(automatic deletion)"}.{" "}
                {item.purging ? "Being purged: its key is destroyed." : `Purged after ${day(item.purgeAfter)}.`}
              </p>
              {!item.purging && restoring !== item.evidenceId && (
                <button type="button" onClick={() => setRestoring(item.evidenceId)} aria-label={`Restore item ${short(item.evidenceId)}`}>
                  Restore
                </button>
              )}
              {restoring === item.evidenceId && (
                <ReasonForm
                  label="Reason for restoring"
                  submit="Restore item"
                  onCancel={() => setRestoring(undefined)}
                  onSubmit={async (reason) => {
                    await retentionApi.restore(item.evidenceId, reason);
                    setRestoring(undefined);
                    props.onChanged();
                  }}
                />
              )}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

function Holds(props: { version: number; onChanged: () => void }) {
  const [holds, setHolds] = useState<Hold[]>();
  const [lifting, setLifting] = useState<string>();
  const [error, setError] = useState<string>();
  useEffect(() => {
    retentionApi.holds().then((list) => setHolds(list.holds.filter((h) => h.liftedAt === null)), (caught: unknown) => setError(messageOf(caught)));
  }, [props.version]);
  return (
    <section class="card" aria-labelledby="holds-heading">
      <h2 id="holds-heading">Legal holds</h2>
      <p class="hint">Nothing under a hold is deleted. A case's leads place holds on its page; only an administrator lifts one.</p>
      <Alert message={error} />
      {holds && holds.length === 0 && <p class="empty">No active legal holds.</p>}
      {holds && holds.length > 0 && (
        <ul class="retention-list" aria-label="Active legal holds">
          {holds.map((hold) => (
            <li key={hold.id}>
              <p>
                <a href={caseHref(hold.caseId)}>Case {hold.caseNumber}</a>
                {hold.evidenceId ? `, item ${short(hold.evidenceId)}` : " (the whole case)"}: “{hold.reason}”
              </p>
              <p class="hint">
                Placed by {hold.setBy.name}, {day(hold.setAt)}
              </p>
              {lifting !== hold.id && (
                <button type="button" onClick={() => setLifting(hold.id)} aria-label={`Lift hold on case ${hold.caseNumber}`}>
                  Lift hold
                </button>
              )}
              {lifting === hold.id && (
                <ReasonForm
                  label="Reason for lifting"
                  submit="Lift hold"
                  onCancel={() => setLifting(undefined)}
                  onSubmit={async (reason) => {
                    await withReauth(() => retentionApi.liftHold(hold.id, reason));
                    setLifting(undefined);
                    props.onChanged();
                  }}
                />
              )}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

function ruleFrom(data: FormData): RetentionRule | string {
  const basis = String(data.get("basis"));
  if (basis === "indefinite") return { basis: "indefinite" };
  const count = Number(data.get("count"));
  if (!Number.isInteger(count) || count < 0 || count > 36500) return "Enter how long to keep it: a whole number.";
  return { basis: basis as "case_closed" | "capture", count, unit: String(data.get("unit")) as "days" | "years" };
}

/** A category's name and rule (and, for a change, its reason): new, or an existing one edited. */
function CategoryForm(props: { id: string; heading: string; submit: string; initial?: Category; onSubmit: (name: string, rule: RetentionRule, reason: string) => Promise<void>; onCancel?: () => void }) {
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const [basis, setBasis] = useState<string>(props.initial?.rule.basis ?? "case_closed");
  const period = props.initial && props.initial.rule.basis !== "indefinite" ? props.initial.rule : undefined;
  async function submit(event: TargetedSubmitEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = event.currentTarget;
    const data = new FormData(form);
    const name = String(data.get("name") ?? "").trim();
    const rule = ruleFrom(data);
    const reason = String(data.get("reason") ?? "").trim();
    if (!name) return setError("Enter the category's name.");
    if (typeof rule === "string") return setError(rule);
    if (props.initial && reason.length < 3) return setError("Give the reason for the change (at least 3 characters).");
    setBusy(true);
    setError(undefined);
    try {
      await props.onSubmit(name, rule, reason);
      form.reset();
      setBasis(props.initial?.rule.basis ?? "case_closed");
    } catch (caught) {
      setError(messageOf(caught));
    } finally {
      setBusy(false);
    }
  }
  const id = (field: string) => `${props.id}-${field}`;
  return (
    <form onSubmit={(event) => void submit(event)} aria-labelledby={id("heading")} noValidate class="category-form">
      <h3 id={id("heading")}>{props.heading}</h3>
      <div class="field">
        <label for={id("name")}>Name</label>
        <input id={id("name")} name="name" required maxLength={80} defaultValue={props.initial?.name} />
      </div>
      <div class="field">
        <label for={id("basis")}>Keep</label>
        <select id={id("basis")} name="basis" onChange={(event) => setBasis(event.currentTarget.value)}>
          <option value="case_closed" selected={basis === "case_closed"}>For a period after the case closes</option>
          <option value="capture" selected={basis === "capture"}>For a period after capture</option>
          <option value="indefinite" selected={basis === "indefinite"}>Indefinitely</option>
        </select>
      </div>
      {basis !== "indefinite" && (
        <div class="field-row">
          <div class="field">
            <label for={id("count")}>Period</label>
            <input id={id("count")} name="count" type="number" inputMode="numeric" min={0} max={36500} defaultValue={String(period?.count ?? 3)} />
          </div>
          <div class="field">
            <label for={id("unit")}>Unit</label>
            <select id={id("unit")} name="unit">
              <option value="years" selected={(period?.unit ?? "years") === "years"}>Years</option>
              <option value="days" selected={period?.unit === "days"}>Days</option>
            </select>
          </div>
        </div>
      )}
      {props.initial && (
        <div class="field">
          <label for={id("reason")}>Reason for the change</label>
          <input id={id("reason")} name="reason" required maxLength={500} />
        </div>
      )}
      <Alert message={error} />
      <div class="actions">
        <button type="submit" class="primary" disabled={busy}>
          {props.submit}
        </button>
        {props.onCancel && (
          <button type="button" onClick={props.onCancel} disabled={busy}>
            Cancel
          </button>
        )}
      </div>
    </form>
  );
}

function Categories(props: { categories?: Category[]; onChanged: () => void }) {
  const [editing, setEditing] = useState<string>();
  return (
    <section class="card" aria-labelledby="categories-heading">
      <h2 id="categories-heading">Categories</h2>
      <p class="hint">Changing a rule takes the category's items off the due list; the next check lists them again as the new rule says.</p>
      {props.categories && (
        <ul class="retention-list" aria-label="Categories">
          {props.categories.map((c) => (
            <li key={c.id}>
              <div class="retention-item">
                <strong>{c.name}</strong>
                {c.isDefault && <span class="badge"> Default</span>}
                <p class="hint">{describeRule(c.rule)}</p>
              </div>
              {editing !== c.id && (
                <button type="button" onClick={() => setEditing(c.id)} aria-label={`Edit ${c.name}`}>
                  Edit
                </button>
              )}
              {editing === c.id && (
                <CategoryForm
                  id={`edit-${c.id}`}
                  heading={`Edit ${c.name}`}
                  submit="Save category"
                  initial={c}
                  onCancel={() => setEditing(undefined)}
                  onSubmit={async (name, rule, reason) => {
                    await retentionApi.updateCategory(c.id, { ...(name !== c.name ? { name } : {}), rule, reason });
                    setEditing(undefined);
                    props.onChanged();
                  }}
                />
              )}
            </li>
          ))}
        </ul>
      )}
      <CategoryForm
        id="new-category"
        heading="New category"
        submit="Add category"
        onSubmit={async (name, rule) => {
          await retentionApi.createCategory({ name, rule });
          props.onChanged();
        }}
      />
    </section>
  );
}

function Settings(props: { categories: Category[] }) {
  const [settings, setSettings] = useState<RetentionSettings>();
  const [auto, setAuto] = useState(false);
  const [error, setError] = useState<string>();
  const [notice, setNotice] = useState<string>();
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    retentionApi.settings().then((s) => {
      setSettings(s);
      setAuto(s.autoDeleteAfterDays !== null);
    }, (caught: unknown) => setError(messageOf(caught)));
  }, []);
  async function submit(event: TargetedSubmitEvent<HTMLFormElement>) {
    event.preventDefault();
    const data = new FormData(event.currentTarget);
    const binDays = Number(data.get("binDays"));
    const autoDays = auto ? Number(data.get("autoDays")) : null;
    if (!Number.isInteger(binDays) || binDays < 1 || binDays > 365) return setError("Days in the recycle bin: from 1 to 365.");
    if (autoDays !== null && (!Number.isInteger(autoDays) || autoDays < 1 || autoDays > 365)) return setError("Waiting period before automatic deletion: from 1 to 365 days.");
    setBusy(true);
    setError(undefined);
    try {
      setSettings(await withReauth(() => retentionApi.saveSettings({ binDays, autoDeleteAfterDays: autoDays, defaultCategoryId: String(data.get("defaultCategoryId")) })));
      setNotice("Retention settings saved.");
    } catch (caught) {
      setError(messageOf(caught));
    } finally {
      setBusy(false);
    }
  }
  return (
    <section class="card" aria-labelledby="retention-settings-heading">
      <h2 id="retention-settings-heading">Retention settings</h2>
      {settings && (
        <form onSubmit={(event) => void submit(event)} aria-labelledby="retention-settings-heading" noValidate>
          <div class="field">
            <label for="default-category">Default category of new evidence</label>
            <select id="default-category" name="defaultCategoryId">
              {props.categories.map((c) => (
                <option key={c.id} value={c.id} selected={c.id === settings.defaultCategoryId}>
                  {c.name}
                </option>
              ))}
            </select>
          </div>
          <div class="field">
            <label for="bin-days">Days in the recycle bin before purge</label>
            <input id="bin-days" name="binDays" type="number" inputMode="numeric" min={1} max={365} defaultValue={String(settings.binDays)} />
          </div>
          <div class="check-field">
            <input id="auto-delete" type="checkbox" checked={auto} onChange={(event) => setAuto(event.currentTarget.checked)} />
            <label for="auto-delete">Delete due items automatically, without approval</label>
          </div>
          {auto && (
            <div class="field">
              <label for="auto-days">Days an item is listed as due before it is deleted automatically</label>
              <input id="auto-days" name="autoDays" type="number" inputMode="numeric" min={1} max={365} defaultValue={String(settings.autoDeleteAfterDays ?? 30)} />
            </div>
          )}
          <Alert message={error} />
          <Notice message={notice} />
          <button type="submit" class="primary" disabled={busy}>
            Save retention settings
          </button>
        </form>
      )}
      {!settings && <Alert message={error} />}
    </section>
  );
}

function ItemLookup() {
  const [status, setStatus] = useState<RetentionStatus>();
  const [error, setError] = useState<string>();
  async function submit(event: TargetedSubmitEvent<HTMLFormElement>) {
    event.preventDefault();
    const id = String(new FormData(event.currentTarget).get("evidenceId") ?? "").trim().toLowerCase();
    setStatus(undefined);
    if (!/^[0-9a-f]{32}$/.test(id)) return setError("An evidence id is 32 hexadecimal characters (it is on the item's page).");
    setError(undefined);
    try {
      setStatus(await retentionApi.status(id));
    } catch (caught) {
      setError(messageOf(caught));
    }
  }
  return (
    <section class="card" aria-labelledby="lookup-heading">
      <h2 id="lookup-heading">Why is an item kept?</h2>
      <form onSubmit={(event) => void submit(event)} noValidate>
        <div class="field">
          <label for="lookup-id">Evidence id</label>
          <input id="lookup-id" name="evidenceId" autoCapitalize="off" spellcheck={false} />
        </div>
        <button type="submit">Look up</button>
      </form>
      <Alert message={error} />
      {status && (
        <div role="status">
          <p>{status.explanation}</p>
          {status.tombstone && <TombstoneDetails tombstone={status.tombstone} />}
        </div>
      )}
    </section>
  );
}

function TombstoneDetails(props: { tombstone: Tombstone }) {
  const t = props.tombstone;
  return (
    <dl class="tombstone">
      <dt>Evidence</dt>
      <dd>{t.evidenceId}</dd>
      <dt>Case</dt>
      <dd>{t.caseNumber}</dd>
      <dt>Manifest SHA-512</dt>
      <dd class="digest">{t.manifestSha512}</dd>
      <dt>Category</dt>
      <dd>
        {t.category.name} ({t.category.rule})
      </dd>
      <dt>Deleted</dt>
      <dd>
        {day(t.deletedAt)}, {t.approvedBy ? `approved by ${t.approvedBy.name}` : "automatic deletion"}
        {t.reason === "request" ? `, at its uploader's request (“${t.requestReason}”)` : ", past retention"}
      </dd>
      <dt>Key destroyed</dt>
      <dd>{day(t.shreddedAt)}</dd>
      <dt>Purged</dt>
      <dd>{day(t.purgedAt)}</dd>
    </dl>
  );
}

function Destroyed(props: { version: number }) {
  const [tombstones, setTombstones] = useState<Tombstone[]>();
  useEffect(() => {
    retentionApi.tombstones().then((list) => setTombstones(list.tombstones), () => setTombstones([]));
  }, [props.version]);
  return (
    <section class="card" aria-labelledby="destroyed-heading">
      <h2 id="destroyed-heading">Destroyed evidence</h2>
      <p class="hint">What remains of each purged item: proof of what was destroyed, who approved it and when. The audit trail keeps its whole history.</p>
      {tombstones && tombstones.length === 0 && <p class="empty">Nothing has been destroyed.</p>}
      {tombstones && tombstones.length > 0 && (
        <ul class="retention-list" aria-label="Destroyed evidence">
          {tombstones.map((t) => (
            <li key={t.evidenceId}>
              <TombstoneDetails tombstone={t} />
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
