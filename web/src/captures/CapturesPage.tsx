/**
 * My captures: what the user captured before choosing a case, each with its capture time (from
 * the file's own metadata where it has one) apart from its upload time, and "File to a case".
 */
import { useEffect, useState } from "preact/hooks";
import { z } from "zod";
import type { CaseSummary, EvidenceSummary } from "../../../shared/api/cases";
import { describeRule, type Category } from "../../../shared/api/retention";
import type { SessionInfo } from "../../../shared/api/schemas";
import { capturesScopeId } from "../../../shared/crypto/filing";
import { decryptLabel, type EvidenceLabel } from "../../../shared/crypto/label";
import { ApiError } from "../api/client";
import { casesApi } from "../cases/api";
import { useDeviceKeys } from "../keys/context";
import type { DeviceKeys } from "../keys/store";
import { retentionApi } from "../retention/api";
import { Field, FormAlert, parseTags, SelectField, SubmitButton, useForm } from "../ui/forms";
import { formatBytes, formatDateTime } from "../ui/format";
import { PageHeading } from "../ui/layout";
import { messageOf } from "../ui/messages";
import { caseHref, navigate } from "../ui/router";
import { UploadList } from "../upload/UploadList";
import { onUploadComplete } from "../upload/queue";
import { CaptureBar } from "./CaptureBar";
import { fileCapture } from "./file";
import "./captures.css";

export function CapturesPage(props: { session: SessionInfo }) {
  const { keys } = useDeviceKeys();
  const userId = props.session.user.id;
  const [placeId, setPlaceId] = useState<string>();
  const [items, setItems] = useState<EvidenceSummary[]>();
  const [labels, setLabels] = useState<Map<string, EvidenceLabel>>(new Map());
  const [error, setError] = useState<string>();
  const [filing, setFiling] = useState<string>();

  async function load() {
    const id = await capturesScopeId(userId);
    setPlaceId(id);
    try {
      const page = await casesApi.evidence(id);
      setItems(page.evidence);
      setError(undefined);
      if (!keys) return;
      const named = new Map<string, EvidenceLabel>();
      for (const item of page.evidence) {
        // Labels of captures are encrypted to the user's own key.
        const label = item.label ? await decryptLabel(item.label, keys.encryption).catch(() => undefined) : undefined;
        if (label) named.set(item.id, label);
      }
      setLabels(named);
    } catch (caught) {
      // No capture yet: the holding place is made with the first one.
      if (caught instanceof ApiError && caught.status === 404) setItems([]);
      else setError(messageOf(caught));
    }
  }
  useEffect(() => {
    void load();
    return onUploadComplete(() => void load());
  }, [userId, keys]);

  const done = items?.filter((item) => item.status === "complete") ?? [];
  return (
    <>
      <PageHeading>My captures</PageHeading>
      <CaptureBar session={props.session} showLink={false} />
      {placeId && <UploadList caseId={placeId} />}
      <section aria-labelledby="captures-heading" aria-busy={items === undefined || undefined}>
        <h2 id="captures-heading">Not yet filed</h2>
        {error && (
          <p role="alert" class="alert">
            Couldn't load your captures. {error}
          </p>
        )}
        {items === undefined && !error && <p class="muted">Loading captures…</p>}
        {items && done.length === 0 && <p class="empty">Nothing waiting to be filed. Captures you take or pick here wait in this list until you file them to a case.</p>}
        {done.length > 0 && (
          <ul class="capture-list" aria-label="Captures">
            {done.map((item) => {
              const label = labels.get(item.id);
              const name = label?.fileName ?? "Encrypted file";
              return (
                <li key={item.id} class="capture-card">
                  <h3>{name}</h3>
                  <dl class="capture-times">
                    <dt>Captured</dt>
                    <dd>{label?.capturedAt ? formatDateTime(label.capturedAt) : "Not recorded in the file"}</dd>
                    <dt>Uploaded</dt>
                    <dd>{formatDateTime(item.completedAt ?? item.createdAt)}</dd>
                    <dt>Size</dt>
                    <dd>{formatBytes(item.byteSize)}</dd>
                  </dl>
                  {filing === item.id && keys ? (
                    <FileForm item={item} name={name} keys={keys} userId={userId} onCancel={() => setFiling(undefined)} />
                  ) : (
                    <div class="actions">
                      <button type="button" class="primary" aria-label={`File to a case: ${name}`} onClick={() => setFiling(item.id)}>
                        File to a case
                      </button>
                    </div>
                  )}
                </li>
              );
            })}
          </ul>
        )}
      </section>
    </>
  );
}

const FilingFields = z.object({
  caseId: z.string().min(1, "Choose a case."),
  title: z.string().trim().max(200, "At most 200 characters."),
  tags: z.array(z.string().max(40, "Each tag at most 40 characters.")).max(20, "At most 20 tags."),
  categoryId: z.string().optional(),
});

/** Choose the case, title, tags and category; the file key is re-wrapped to the case key here. */
function FileForm(props: { item: EvidenceSummary; name: string; keys: DeviceKeys; userId: string; onCancel: () => void }) {
  const [cases, setCases] = useState<CaseSummary[]>();
  const [categories, setCategories] = useState<Category[]>([]);
  const [loadError, setLoadError] = useState<string>();
  useEffect(() => {
    casesApi.list({ status: "open", limit: "200" }).then((list) => setCases(list.cases.filter((c) => c.myRole !== "viewer")), (caught) => setLoadError(messageOf(caught)));
    retentionApi.categories().then((list) => setCategories(list.categories), () => setCategories([]));
  }, []);
  const form = useForm({
    schema: FilingFields,
    toBody: (values) => ({ ...values, title: values["title"] ?? "", tags: parseTags(values["tags"]), ...(values["categoryId"] ? {} : { categoryId: undefined }) }),
    send: async (fields) => {
      const target = await casesApi.get(fields.caseId);
      await fileCapture(props.item, target, { title: fields.title, tags: fields.tags, ...(fields.categoryId ? { categoryId: fields.categoryId } : {}) }, props.keys, props.userId);
      navigate(caseHref(target.id, props.item.id));
    },
  });
  const defaultCategory = categories.find((c) => c.isDefault)?.id;
  return (
    <form ref={form.formRef} aria-label={`File ${props.name} to a case`} onSubmit={form.onSubmit} onInput={form.onInput} noValidate>
      <FormAlert message={form.formError ?? loadError} />
      {cases && cases.length === 0 && <p class="empty">You are not a contributor on any open case. Open a case first, or ask a case lead to add you.</p>}
      {cases && cases.length > 0 && (
        <>
          <SelectField
            name="caseId"
            label="Case"
            options={[{ value: "", label: "Choose a case" }, ...cases.map((c) => ({ value: c.id, label: `${c.number}: ${c.title}` }))]}
            error={form.errors["caseId"]}
          />
          <Field name="title" label="Title" required={false} autoComplete="off" error={form.errors["title"]} />
          <Field name="tags" label="Tags (comma-separated)" required={false} autoComplete="off" error={form.errors["tags"]} />
          {categories.length > 1 && (
            <SelectField
              name="categoryId"
              label="Category (how long it is kept)"
              options={categories.map((c) => ({ value: c.id, label: `${c.name}: ${describeRule(c.rule).toLowerCase()}` }))}
              {...(defaultCategory ? { defaultValue: defaultCategory } : {})}
              error={form.errors["categoryId"]}
            />
          )}
          <p class="hint">The file is not encrypted again: its key is re-wrapped to the case key on this device, and the move is signed with your key and recorded.</p>
        </>
      )}
      {!cases && !loadError && <p class="muted">Loading your cases…</p>}
      <div class="actions">
        {cases && cases.length > 0 && <SubmitButton busy={form.busy} label="File to case" busyLabel="Filing…" />}
        <button type="button" onClick={props.onCancel} disabled={form.busy}>
          Cancel
        </button>
      </div>
    </form>
  );
}
