/**
 * Cases: the list (search, status and tag filters) and "New case", which makes the case key
 * pair in this browser. /cases routes on its query string (app.tsx): `?case=<id>` opens a case,
 * `&evidence=<id>` one of its evidence items (so the app's router needs only "/cases").
 */
import type { TargetedEvent } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { z } from "zod";
import type { CaseSummary } from "../../../shared/api/cases";
import type { SessionInfo } from "../../../shared/api/schemas";
import { ApiError } from "../api/client";
import { casesApi } from "./api";
import { newCaseBody } from "./crypto";
import { myCaseRoleLabel } from "./labels";
import { Field, FormAlert, parseTags, SubmitButton, TextArea, useForm } from "../ui/forms";
import { messageOf } from "../ui/messages";
import { formatDateTime } from "../ui/format";
import { useDeviceKeys } from "../keys/context";
import { caseHref, navigate } from "../ui/router";
import { PageHeading } from "../ui/layout";
import { LoadMore } from "../ui/paging";
import { NOT_SAVED, savedAt } from "../offline/cache";
import { CaptureBar } from "../captures/CaptureBar";
import "./cases.css";

const STATUS_OPTIONS = [
  { value: "", label: "Any status" },
  { value: "open", label: "Open" },
  { value: "closed", label: "Closed" },
] as const;

export function CaseListPage(props: { session: SessionInfo }) {
  const [cases, setCases] = useState<CaseSummary[]>();
  const [error, setError] = useState<string>();
  const [loading, setLoading] = useState(true);
  const [q, setQ] = useState("");
  const [status, setStatus] = useState<"" | "open" | "closed">("");
  const [tag, setTag] = useState("");
  const [creating, setCreating] = useState(false);
  const [allTags, setAllTags] = useState<string[]>([]);
  const [saved, setSaved] = useState<string>();
  const [next, setNext] = useState<string | null>(null);
  const [moreError, setMoreError] = useState<string>();
  const request = useRef(0);

  const currentQuery = () => ({ ...(q.trim() ? { q: q.trim() } : {}), ...(status ? { status } : {}), ...(tag ? { tag } : {}) });

  async function load() {
    const mine = ++request.current;
    setLoading(true);
    setError(undefined);
    try {
      const query = currentQuery();
      const answer = await casesApi.list(query).catch(async (caught: unknown) => {
        // Offline with a search not saved as such: search the saved list (the pages seen online) on the device.
        if (!(caught instanceof ApiError && caught.message === NOT_SAVED) || Object.keys(query).length === 0) throw caught;
        const all = await casesApi.list({});
        const needle = q.trim().toLowerCase();
        const found = all.cases.filter(
          (c) => (!needle || [c.number, c.title, ...c.tags].join("\n").toLowerCase().includes(needle)) && (!status || c.status === status) && (!tag || c.tags.includes(tag)),
        );
        const copy = { ...all, cases: found, nextCursor: null };
        return { copy, when: savedAt(all) };
      }).then((result) => ("copy" in result ? result : { copy: result, when: savedAt(result) }));
      if (mine !== request.current) return;
      const list = answer.copy.cases;
      setSaved(answer.when);
      setCases(list);
      setNext(answer.copy.nextCursor);
      setMoreError(undefined);
      learnTags(list);
    } catch (caught) {
      if (mine === request.current) setError(messageOf(caught));
    } finally {
      if (mine === request.current) setLoading(false);
    }
  }

  function learnTags(list: CaseSummary[]) {
    setAllTags((known) => [...new Set([...known, ...list.flatMap((c) => c.tags)])].sort((a, b) => a.localeCompare(b)));
  }

  /** The next page of the same search, added below the cases shown. */
  async function loadMore() {
    if (next === null || loading) return;
    const mine = request.current;
    setLoading(true);
    setMoreError(undefined);
    try {
      const page = await casesApi.list({ ...currentQuery(), cursor: next });
      if (mine !== request.current) return;
      setCases((current) => [...(current ?? []), ...page.cases.filter((c) => !current?.some((shown) => shown.id === c.id))]);
      setNext(page.nextCursor);
      learnTags(page.cases);
    } catch (caught) {
      if (mine === request.current) setMoreError(messageOf(caught));
    } finally {
      if (mine === request.current) setLoading(false);
    }
  }

  // Search as you type, a moment after the last key.
  useEffect(() => {
    const timer = setTimeout(() => void load(), q ? 250 : 0);
    return () => clearTimeout(timer);
  }, [q, status, tag]);

  const filtered = q.trim() !== "" || status !== "" || tag !== "";
  const canCreate = props.session.user.role !== "site_operator";

  return (
    <>
      <PageHeading>Cases</PageHeading>
      {canCreate && <CaptureBar session={props.session} />}
      {canCreate && !creating && (
        <button type="button" class="primary wide" onClick={() => setCreating(true)}>
          New case
        </button>
      )}
      {creating && <NewCaseForm onCancel={() => setCreating(false)} onCreated={(id) => navigate(caseHref(id))} />}
      <search class="case-filters" aria-label="Find cases">
        <div class="field">
          <label for="case-search">Search cases</label>
          <input id="case-search" type="search" value={q} placeholder="Number, title, description or tag" onInput={(e: TargetedEvent<HTMLInputElement>) => setQ(e.currentTarget.value)} />
        </div>
        <div class="filter-row">
          <div class="field">
            <label for="case-status">Status</label>
            <select id="case-status" value={status} onChange={(e: TargetedEvent<HTMLSelectElement>) => setStatus(e.currentTarget.value as typeof status)}>
              {STATUS_OPTIONS.map((o) => (
                <option key={o.value} value={o.value}>
                  {o.label}
                </option>
              ))}
            </select>
          </div>
          <div class="field">
            <label for="case-tag">Tag</label>
            <select id="case-tag" value={tag} onChange={(e: TargetedEvent<HTMLSelectElement>) => setTag(e.currentTarget.value)}>
              <option value="">Any tag</option>
              {allTags.map((t) => (
                <option key={t} value={t}>
                  {t}
                </option>
              ))}
            </select>
          </div>
        </div>
      </search>
      <section aria-labelledby="case-list-heading" aria-busy={loading || undefined}>
        <h2 id="case-list-heading" class="visually-hidden">
          Your cases
        </h2>
        {error && (
          <div class="stack">
            <p role="alert" class="alert">
              Couldn't load your cases. {error}
            </p>
            <button type="button" onClick={() => void load()}>
              Retry
            </button>
          </div>
        )}
        {saved && (
          <p class="saved-note" role="status">
            Offline: your cases as saved on this device, {formatDateTime(saved)}.
          </p>
        )}
        {!cases && loading && <p class="muted">Loading cases…</p>}
        {cases && cases.length === 0 && !filtered && (
          <p class="empty">
            You are not on any case yet. {canCreate ? "Press “New case” to open one, or ask" : "Ask"} a case lead to add you to theirs.
          </p>
        )}
        {cases && cases.length === 0 && filtered && <p class="empty">No case matches. Change the search or the filters.</p>}
        {cases && cases.length > 0 && (
          <ul class="case-list">
            {cases.map((c) => (
              <li key={c.id}>
                <a class="case-card" href={caseHref(c.id)}>
                  <span class="case-number">{c.number}</span>
                  <span class="case-title">{c.title}</span>
                  <span class="case-meta">
                    <span class={`badge badge-${c.status}`}>{c.status === "open" ? "Open" : "Closed"}</span>
                    <span>{myCaseRoleLabel(c)}</span>
                    <span>
                      {c.evidenceCount} {c.evidenceCount === 1 ? "item" : "items"}
                    </span>
                  </span>
                  {c.tags.length > 0 && (
                    <span class="tags">
                      {c.tags.map((t) => (
                        <span key={t} class="tag">
                          {t}
                        </span>
                      ))}
                    </span>
                  )}
                </a>
              </li>
            ))}
          </ul>
        )}
        {cases && <LoadMore hasMore={next !== null} loading={loading} error={moreError} noun="cases" onMore={() => void loadMore()} />}
      </section>
    </>
  );
}

const NewCaseFields = z.object({
  number: z.string().trim().min(1, "Enter the case number.").max(64, "At most 64 characters."),
  title: z.string().trim().min(1, "Enter a title.").max(200, "At most 200 characters."),
  description: z.string().trim().max(4000, "At most 4000 characters."),
  tags: z.array(z.string().max(40, "Each tag at most 40 characters.")).max(20, "At most 20 tags."),
});

function NewCaseForm(props: { onCancel: () => void; onCreated: (id: string) => void }) {
  const { keys } = useDeviceKeys();
  const form = useForm({
    schema: NewCaseFields,
    toBody: (values) => ({ ...values, description: values["description"] ?? "", tags: parseTags(values["tags"]) }),
    send: async (fields) => {
      const created = await casesApi.create(await newCaseBody(fields, keys));
      props.onCreated(created.id);
    },
  });
  return (
    <section aria-labelledby="new-case-heading" class="card new-case">
      <h2 id="new-case-heading">New case</h2>
      <form ref={form.formRef} aria-labelledby="new-case-heading" onSubmit={form.onSubmit} onInput={form.onInput} noValidate>
        <FormAlert message={form.formError} />
        <Field name="number" label="Case number" autoComplete="off" error={form.errors["number"]} />
        <Field name="title" label="Title" autoComplete="off" error={form.errors["title"]} />
        <TextArea name="description" label="Description" error={form.errors["description"]} />
        <Field name="tags" label="Tags (comma-separated)" required={false} autoComplete="off" hint="For example: burglary, north district" error={form.errors["tags"]} />
        <p class="hint">A new case key is made on this device and shared only with you and your organisation's recovery key.</p>
        <div class="actions">
          <SubmitButton busy={form.busy} label="Create case" busyLabel="Creating…" />
          <button type="button" onClick={props.onCancel} disabled={form.busy}>
            Cancel
          </button>
        </div>
      </form>
    </section>
  );
}
