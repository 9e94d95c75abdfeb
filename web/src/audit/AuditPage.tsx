/**
 * Audit (administrators): the organisation's audit trail, filtered by user, action, outcome,
 * time, IP and target; exports of any filter as CSV or JSON lines; and, for one target, a
 * chain-of-custody report as a PDF built in this browser. The filter lives in the URL.
 */
import type { ComponentChildren, TargetedEvent, TargetedSubmitEvent } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { AuditQuery, type AuditPage as AuditPageBody } from "../../../shared/api/audit";
import type { SessionInfo, User } from "../../../shared/api/schemas";
import type { AuditEvent } from "../../../shared/audit/chain";
import { api, ApiError } from "../api/client";
import { exportHref, fetchAuditPage, fetchTargetHistory } from "./api";
import { ACTION_CHOICES, actionText, describeAction, personText, type AuditNames } from "../../../shared/audit/format";
import { db } from "../db";
import { casesApi } from "../cases/api";
import { allPages } from "../ui/paging";
import { localTime, OUTCOME_LABELS, shortHash, utcTime } from "./format";
import {
  filterFromForm,
  filterFromSearch,
  filterSearch,
  isEmptyFilter,
  isoToLocalInput,
  FILTER_KEYS,
  rememberActions,
  type AuditFilter,
  type FilterKey,
} from "./query";
import { formValues, FormAlert, issuesToFieldErrors, type FieldErrors } from "../ui/forms";
import { navigate, useSearch } from "../ui/router";
import { PageHeading } from "../ui/layout";
import { saveBlob } from "../ui/download";
import { messageOf } from "../ui/messages";

export function AuditPage(props: { session: SessionInfo }) {
  const search = useSearch();
  const filter = filterFromSearch(search);
  const [users, setUsers] = useState<User[]>();
  const [usersError, setUsersError] = useState(false);
  const [actions, setActions] = useState<string[]>(() => rememberActions(filter.action ? [filter.action] : []));

  const [caseLabels, setCaseLabels] = useState<Map<string, string>>(new Map());
  useEffect(() => {
    // Cases by number and title: the ones this administrator is a member of (others stay unnamed).
    void allPages((cursor) => casesApi.list({ limit: "200", ...(cursor ? { cursor } : {}) }).then((page) => ({ items: page.cases, nextCursor: page.nextCursor })), 5).then(
      (cases) => setCaseLabels(new Map(cases.map((c) => [c.id, `${c.number}: ${c.title}`]))),
      () => undefined,
    );
  }, []);
  const people = new Map((users ?? []).map((user) => [user.id, user]));

  useEffect(() => {
    api
      .listUsers()
      .then(({ users }) => setUsers(users.sort((a, b) => a.name.localeCompare(b.name) || a.email.localeCompare(b.email))))
      .catch(() => setUsersError(true));
  }, []);

  function apply(next: AuditFilter) {
    navigate(`/audit${filterSearch(next)}`);
  }

  return (
    <>
      <PageHeading>Audit</PageHeading>
      <FilterForm filter={filter} users={users} usersError={usersError} actions={actions} onApply={apply} />
      <Results
        key={search}
        filter={filter}
        names={{ person: (id) => people.get(id), caseLabel: (id) => caseLabels.get(id) }}
        onEvents={(events) => setActions(rememberActions(events.map((event) => event.action)))}
        onFilter={apply}
      />
      <ExportLinks filter={filter} />
      <ReportSection filter={filter} session={props.session} names={{ person: (id) => people.get(id), caseLabel: (id) => caseLabels.get(id) }} />
    </>
  );
}

// ---- filters --------------------------------------------------------------------------

const OUTCOME_OPTIONS = [
  { value: "", label: "Any" },
  { value: "success", label: OUTCOME_LABELS.success },
  { value: "denied", label: OUTCOME_LABELS.denied },
  { value: "failed", label: OUTCOME_LABELS.failed },
];

/** What each form field shows for the applied filter (From and To in the device's time zone). */
function shownValue(filter: AuditFilter, key: FilterKey): string {
  if (key === "from" || key === "to") return isoToLocalInput(filter[key]);
  return filter[key] ?? "";
}

function FilterField(props: { name: FilterKey; label: string; error?: string; hint?: string; wide?: boolean; children: (id: string, describedBy: string | undefined) => ComponentChildren }) {
  const id = `audit-${props.name}`;
  const describedBy = [props.hint ? `${id}-hint` : "", props.error ? `${id}-error` : ""].filter(Boolean).join(" ") || undefined;
  return (
    <div class={`field${props.wide ? " wide" : ""}`}>
      <label for={id}>{props.label}</label>
      {props.hint && (
        <p id={`${id}-hint`} class="hint">
          {props.hint}
        </p>
      )}
      {props.children(id, describedBy)}
      {props.error && (
        <p id={`${id}-error`} class="field-error">
          {props.error}
        </p>
      )}
    </div>
  );
}

function FilterForm(props: {
  filter: AuditFilter;
  users: User[] | undefined;
  usersError: boolean;
  actions: string[];
  onApply: (filter: AuditFilter) => void;
}) {
  const { filter, users } = props;
  const formRef = useRef<HTMLFormElement>(null);
  const [errors, setErrors] = useState<FieldErrors>({});
  const [formError, setFormError] = useState<string>();

  /** Puts the applied filter into the fields (From and To in the device's time zone). */
  function showFilter(shown: AuditFilter) {
    const element = formRef.current;
    if (!element) return;
    for (const key of FILTER_KEYS) {
      const field = element.elements.namedItem(key) as HTMLInputElement | HTMLSelectElement | null;
      if (field) field.value = shownValue(shown, key);
    }
  }

  // Whenever the applied filter changes (Apply, Clear, a target link, back and forward), without
  // re-creating the form, so focus stays where it was.
  const applied = JSON.stringify(filter);
  useEffect(() => showFilter(filter), [applied, users]);

  function submit(event: TargetedSubmitEvent<HTMLFormElement>) {
    event.preventDefault();
    const next = filterFromForm(formValues(event.currentTarget));
    const parsed = AuditQuery.safeParse(next);
    if (!parsed.success) {
      const fieldErrors = issuesToFieldErrors(parsed.error.issues);
      setErrors(fieldErrors);
      setFormError("Check the fields marked below and try again.");
      const first = FILTER_KEYS.find((key) => key in fieldErrors);
      setTimeout(() => (first ? (formRef.current?.elements.namedItem(first) as HTMLElement | null)?.focus() : undefined));
      return;
    }
    setErrors({});
    setFormError(undefined);
    props.onApply(next);
  }

  function clear() {
    setErrors({});
    setFormError(undefined);
    showFilter({});
    props.onApply({});
  }

  /** Clears a field's error once it is edited. */
  function onInput(event: TargetedEvent<HTMLFormElement>) {
    const name = (event.target as HTMLInputElement).name;
    if (name && errors[name]) {
      const { [name]: _cleared, ...rest } = errors;
      setErrors(rest);
    }
  }

  const invalid = (key: FilterKey) => (errors[key] ? true : undefined);
  const input = (key: FilterKey, extra: Record<string, unknown> = {}) => (id: string, describedBy: string | undefined) => (
    <input
      id={id}
      name={key}
      type="text"
      defaultValue={shownValue(filter, key)}
      aria-invalid={invalid(key)}
      aria-describedby={describedBy}
      autoComplete="off"
      autoCapitalize="off"
      spellcheck={false}
      {...extra}
    />
  );
  const knownUser = !filter.actorId || users?.some((user) => user.id === filter.actorId);

  const appliedCount = FILTER_KEYS.filter((key) => filter[key] !== undefined && filter[key] !== "").length;
  return (
    // Collapsible, open at first: a phone can fold the filters away to see more events.
    <details class="filter-panel" open>
      <summary>Filters{appliedCount > 0 ? ` (${appliedCount} applied)` : ""}</summary>
    <form
      ref={formRef}
      class="audit-filters"
      aria-label="Filter audit events"
      onSubmit={submit}
      onInput={onInput}
      noValidate
    >
      <FormAlert message={formError} />
      <div class="filter-grid">
        <FilterField name="actorId" label="User" wide error={errors["actorId"]} hint={props.usersError ? "Couldn't load the list of users; reload the page to filter by user." : undefined}>
          {(id, describedBy) => (
            <select id={id} name="actorId" aria-invalid={invalid("actorId")} aria-describedby={describedBy}>
              <option value="">Anyone</option>
              {!knownUser && (
                <option value={filter.actorId} selected>
                  {filter.actorId}
                </option>
              )}
              {users?.map((user) => (
                <option key={user.id} value={user.id} selected={user.id === filter.actorId}>
                  {user.name} ({user.email})
                </option>
              ))}
            </select>
          )}
        </FilterField>
        <FilterField name="action" label="Action" wide error={errors["action"]}>
          {(id, describedBy) => (
            <select id={id} name="action" aria-invalid={invalid("action")} aria-describedby={describedBy}>
              <option value="">Any action</option>
              {/* Actions seen that the list does not know yet (newer than this app) keep a choice too. */}
              {[...ACTION_CHOICES, ...props.actions.filter((a) => !ACTION_CHOICES.some((c) => c.value === a)).map((a) => ({ value: a, label: actionText(a) }))].map((choice) => (
                <option key={choice.value} value={choice.value} selected={choice.value === (filter.action ?? "")}>
                  {choice.label}
                </option>
              ))}
            </select>
          )}
        </FilterField>
        <FilterField name="outcome" label="Outcome" error={errors["outcome"]}>
          {(id, describedBy) => (
            <select id={id} name="outcome" aria-invalid={invalid("outcome")} aria-describedby={describedBy}>
              {OUTCOME_OPTIONS.map((option) => (
                <option key={option.value} value={option.value} selected={option.value === (filter.outcome ?? "")}>
                  {option.label}
                </option>
              ))}
            </select>
          )}
        </FilterField>
        <FilterField name="ip" label="IP address" error={errors["ip"]}>
          {input("ip", { inputMode: "decimal" })}
        </FilterField>
        <FilterField name="from" label="From" wide error={errors["from"]}>
          {input("from", { type: "datetime-local" })}
        </FilterField>
        <FilterField name="to" label="To" wide error={errors["to"]} hint="Your device's time zone. To includes the whole minute.">
          {input("to", { type: "datetime-local" })}
        </FilterField>
        <FilterField name="targetType" label="Target type" error={errors["targetType"]}>
          {input("targetType", { list: "audit-target-types", placeholder: "e.g. evidence" })}
        </FilterField>
        <datalist id="audit-target-types">
          {["evidence", "case", "user", "request", "organisation"].map((type) => (
            <option key={type} value={type} />
          ))}
        </datalist>
        <FilterField name="targetId" label="Target id" wide error={errors["targetId"]}>
          {input("targetId")}
        </FilterField>
      </div>
      <div class="actions">
        <button type="submit" class="primary">
          Apply filters
        </button>
        <button type="button" class="secondary" onClick={clear}>
          Clear
        </button>
      </div>
    </form>
    </details>
  );
}

// ---- results --------------------------------------------------------------------------

function Results(props: { filter: AuditFilter; names: AuditNames; onEvents: (events: AuditEvent[]) => void; onFilter: (filter: AuditFilter) => void }) {
  const [events, setEvents] = useState<AuditEvent[]>([]);
  // Item names this device knows (items it uploaded or opened); the rest are "an item you cannot open".
  const [itemNames, setItemNames] = useState<Map<string, string>>(new Map());
  useEffect(() => {
    const ids = [...new Set(events.map((e) => (typeof e.details.evidenceId === "string" ? e.details.evidenceId : e.target.type === "evidence" ? e.target.id : null)).filter((id): id is string => !!id))];
    if (ids.length === 0) return;
    void db.evidenceLabels.bulkGet(ids).then(
      (rows) => setItemNames(new Map(rows.filter((row) => !!row).map((row) => [row!.evidenceId, row!.title || row!.fileName]))),
      () => undefined,
    );
  }, [events]);
  const names: AuditNames = { ...props.names, item: (id) => itemNames.get(id) };
  const [next, setNext] = useState<number | null>(null);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<string>();
  const [loaded, setLoaded] = useState(false);
  const controller = useRef<AbortController | undefined>(undefined);

  async function load(after: number | null) {
    controller.current?.abort();
    const abort = (controller.current = new AbortController());
    setLoading(true);
    setError(undefined);
    try {
      const page: AuditPageBody = await fetchAuditPage(props.filter, after, undefined, abort.signal);
      setEvents((current) => (after === null ? page.events : [...current, ...page.events]));
      setNext(page.next);
      setLoaded(true);
      props.onEvents(page.events);
    } catch (caught) {
      if (abort.signal.aborted) return;
      setError(messageOf(caught));
    } finally {
      if (!abort.signal.aborted) setLoading(false);
    }
  }

  // The parent re-creates this component (key) whenever the filter changes.
  useEffect(() => {
    void load(null);
    return () => controller.current?.abort();
  }, []);

  const status = loading
    ? events.length
      ? "Loading more events…"
      : "Loading events…"
    : loaded && events.length
      ? `Showing ${events.length} event${events.length === 1 ? "" : "s"}${next !== null ? "; more are available" : ""}.`
      : "";

  return (
    <section aria-labelledby="events-heading" aria-busy={loading || undefined}>
      <h2 id="events-heading" class="visually-hidden">
        Events
      </h2>
      <p role="status" class="muted audit-status">
        {status}
      </p>
      {error && (
        <div class="stack">
          <p role="alert" class="alert">
            Couldn't load the audit events. {error}
          </p>
          <button type="button" class="secondary" onClick={() => void load(events.length ? (next ?? null) : null)}>
            Retry
          </button>
        </div>
      )}
      {loaded && events.length === 0 && <p class="empty">No events match these filters.</p>}
      {events.length > 0 && (
        <table class="audit-table" role="table">
          <caption>Audit events</caption>
          <thead role="rowgroup">
            <tr role="row">
              {["Time", "Who", "Action", "Target", "Outcome", "IP", "Details"].map((title) => (
                <th key={title} role="columnheader" scope="col">
                  {title}
                </th>
              ))}
            </tr>
          </thead>
          <tbody role="rowgroup">
            {events.map((event) => (
              <EventRow key={event.seq} event={event} names={names} onFilter={props.onFilter} />
            ))}
          </tbody>
        </table>
      )}
      {next !== null && !error && (
        <button type="button" class="secondary load-more" onClick={() => void load(next)} disabled={loading} aria-busy={loading || undefined}>
          {loading ? "Loading…" : "Load more"}
        </button>
      )}
    </section>
  );
}

const OUTCOME_MARKS = { success: "✓", denied: "⊘", failed: "✗" } as const;

function OutcomeBadge(props: { outcome: AuditEvent["outcome"] }) {
  return (
    <span class={`badge outcome outcome-${props.outcome}`}>
      <span aria-hidden="true">{OUTCOME_MARKS[props.outcome]} </span>
      {OUTCOME_LABELS[props.outcome]}
    </span>
  );
}

/** A target in words: a person, a case or an item by name where known, else its kind. */
function targetWords(target: AuditEvent["target"], names: AuditNames): string {
  if (!target.id) return target.type;
  if (target.type === "user") {
    const person = names.person?.(target.id);
    if (person) return `${person.name} (${person.email})`;
  }
  if (target.type === "case") return `case ${names.caseLabel?.(target.id) ?? "(one you are not a member of)"}`;
  if (target.type === "evidence") return names.item?.(target.id) ?? "an item you cannot open";
  return target.type;
}

function EventRow(props: { event: AuditEvent; names: AuditNames; onFilter: (filter: AuditFilter) => void }) {
  const { event } = props;
  const [open, setOpen] = useState(false);
  const detailsId = `event-details-${event.seq}`;
  const targetFilter: AuditFilter | undefined = event.target.id ? { targetType: event.target.type, targetId: event.target.id } : undefined;

  return (
    <tr role="row" class={`outcome-row-${event.outcome}`}>
      <td role="cell" data-label="Time">
        <time dateTime={event.at} title={utcTime(event.at)}>
          {localTime(event.at)}
        </time>
        {event.recordedOffline && <span class="offline-mark"> (recorded offline)</span>}
      </td>
      <td role="cell" data-label="Who" class="wrap">
        {personText(event.actor, props.names)}
      </td>
      <td role="cell" data-label="Action" class="wrap">
        {describeAction(event, props.names)}
      </td>
      <td role="cell" data-label="Target" class="wrap">
        {targetFilter ? (
          <a
            href={`/audit${filterSearch(targetFilter)}`}
            title={`Show every event of ${event.target.type} ${event.target.id}`}
            onClick={(click) => {
              if (click.button !== 0 || click.metaKey || click.ctrlKey || click.shiftKey || click.altKey) return;
              click.preventDefault();
              props.onFilter(targetFilter);
            }}
          >
            {targetWords(event.target, props.names)}
          </a>
        ) : (
          event.target.type
        )}
      </td>
      <td role="cell" data-label="Outcome">
        <OutcomeBadge outcome={event.outcome} />
      </td>
      <td role="cell" data-label="IP" class="wrap">
        {event.ip ?? "—"}
      </td>
      <td role="cell" data-label="Details" class="details-cell">
        <button type="button" class="link-button" aria-expanded={open} aria-controls={detailsId} onClick={() => setOpen(!open)}>
          Details<span class="visually-hidden"> of event {event.seq}</span>
        </button>
        <dl id={detailsId} class="event-details" hidden={!open}>
          <div>
            <dt>Seq</dt>
            <dd>{event.seq}</dd>
          </div>
          <div>
            <dt>Action code</dt>
            <dd class="mono">{event.action}</dd>
          </div>
          {event.recordedOffline && (
            <div>
              <dt>Recorded offline</dt>
              <dd>
                recorded offline at <time dateTime={event.recordedOffline.at}>{utcTime(event.recordedOffline.at)}</time>; received{" "}
                {utcTime(event.at)}
              </dd>
            </div>
          )}
          {event.target.id && (
            <div>
              <dt>Target</dt>
              <dd class="mono">
                {event.target.type} {event.target.id}
              </dd>
            </div>
          )}
          <div>
            <dt>User agent</dt>
            <dd>{event.userAgent ?? "—"}</dd>
          </div>
          <div>
            <dt>Details</dt>
            <dd>
              <pre>{JSON.stringify(event.details, null, 2)}</pre>
            </dd>
          </div>
          <div>
            <dt>Hash (SHA-512)</dt>
            <dd class="mono" title={event.hash}>
              {shortHash(event.hash)}
            </dd>
          </div>
        </dl>
      </td>
    </tr>
  );
}

// ---- export ---------------------------------------------------------------------------

function ExportLinks(props: { filter: AuditFilter }) {
  return (
    <section aria-labelledby="export-heading">
      <h2 id="export-heading">Export</h2>
      <p class="hint">{isEmptyFilter(props.filter) ? "Every event of the organisation." : "The events matching the filters applied above."}</p>
      <div class="actions">
        {/* Plain links: the browser streams the file to disk under the server's name, however large. */}
        <a class="button secondary" href={exportHref(props.filter, "csv")} download>
          Export CSV
        </a>
        <a class="button secondary" href={exportHref(props.filter, "jsonl")} download>
          Export JSON lines
        </a>
      </div>
      <p class="hint export-note">
        JSON lines exports can be checked offline with <code>npm run audit:verify</code>; only an unfiltered export proves nothing is missing.
      </p>
    </section>
  );
}

// ---- chain-of-custody report ----------------------------------------------------------

function ReportSection(props: { filter: AuditFilter; session: SessionInfo; names: AuditNames }) {
  const { targetType, targetId } = props.filter;
  const [busy, setBusy] = useState(false);
  const [progress, setProgress] = useState("");
  const [error, setError] = useState<string>();

  // A different target starts afresh.
  useEffect(() => {
    setProgress("");
    setError(undefined);
  }, [targetType, targetId]);

  if (!targetType || !targetId) {
    return (
      <section aria-labelledby="report-heading">
        <h2 id="report-heading">Chain-of-custody report</h2>
        <p class="hint">Set Target type and Target id (for example an evidence item, a case or a user) and apply the filters to make a PDF report of everything that happened to it.</p>
      </section>
    );
  }
  const target = { type: targetType, id: targetId };

  async function make() {
    setBusy(true);
    setError(undefined);
    setProgress("Fetching events…");
    try {
      const events = await fetchTargetHistory(target, (count) => setProgress(`Fetching events… ${count.toLocaleString()} so far.`));
      setProgress(`Building the PDF of ${events.length.toLocaleString()} events…`);
      let report: typeof import("./report");
      try {
        report = await import("./report");
      } catch {
        throw new ApiError(0, "unreachable", "Couldn't load the PDF maker. Check your connection and try again.");
      }
      const generatedAt = new Date();
      const itemIds = [...new Set(events.map((e) => (typeof e.details.evidenceId === "string" ? e.details.evidenceId : e.target.type === "evidence" ? e.target.id : null)).filter((id): id is string => !!id))];
      const labels = await db.evidenceLabels.bulkGet(itemIds).catch(() => []);
      const items = new Map(labels.filter((row) => !!row).map((row) => [row!.evidenceId, row!.fileName]));
      const names: AuditNames = { ...props.names, item: (id) => items.get(id) };
      const bytes = await report.buildChainOfCustodyPdf({
        names,
        targetLabel: targetWords(target, names),
        organisation: props.session.organisation.name,
        target,
        generatedBy: { name: props.session.user.name, email: props.session.user.email },
        generatedAt,
        events,
      });
      const fileName = report.reportFileName(target, generatedAt);
      saveBlob(new Blob([bytes as Uint8Array<ArrayBuffer>], { type: "application/pdf" }), fileName);
      setProgress(`Report saved as ${fileName} (${events.length.toLocaleString()} events).`);
    } catch (caught) {
      setProgress("");
      setError(`Couldn't make the report. ${messageOf(caught)}`);
    } finally {
      setBusy(false);
    }
  }

  return (
    <section aria-labelledby="report-heading">
      <h2 id="report-heading">Chain-of-custody report</h2>
      <p class="wrap">
        Every event of {targetType} <span class="mono">{targetId}</span>, whatever the other filters, with each event's hash.
      </p>
      <button type="button" class="primary" onClick={() => void make()} disabled={busy} aria-busy={busy || undefined}>
        {busy && <span class="spinner" aria-hidden="true" />}
        Chain-of-custody report (PDF)
      </button>
      <p role="status" class="status wrap">
        {progress}
      </p>
      {error && (
        <p role="alert" class="alert">
          {error}
        </p>
      )}
    </section>
  );
}
