/**
 * Form building blocks shared by every screen: labelled fields with inline errors, a submit
 * button with a busy state, and `useForm`, which validates with the shared zod schema and maps
 * the server's per-field issues onto the same fields.
 */
import type { ComponentChildren, TargetedEvent, TargetedSubmitEvent } from "preact";
import { useRef, useState } from "preact/hooks";
import type { z } from "zod";
import { ApiError } from "../api/client";

export type FieldErrors = Record<string, string>;

interface FieldProps {
  /** Field path as the API names it, e.g. "admin.email"; also the input's name. */
  name: string;
  label: string;
  type?: "text" | "email" | "password" | "number" | "url";
  autoComplete?: string;
  hint?: string;
  error?: string;
  required?: boolean;
  defaultValue?: string;
  inputMode?: "text" | "email";
}

function fieldId(name: string): string {
  return `field-${name.replaceAll(".", "-")}`;
}

function describedBy(id: string, hint: unknown, error: unknown): string | undefined {
  const ids = [hint ? `${id}-hint` : "", error ? `${id}-error` : ""].filter(Boolean);
  return ids.length ? ids.join(" ") : undefined;
}

export function Field(props: FieldProps) {
  const id = fieldId(props.name);
  return (
    <div class="field">
      <label for={id}>{props.label}</label>
      {props.hint && (
        <p id={`${id}-hint`} class="hint">
          {props.hint}
        </p>
      )}
      <input
        id={id}
        name={props.name}
        // Preact types each input type with its allowed ARIA roles; one of three is fine for a textbox.
        type={(props.type ?? "text") as "text"}
        autoComplete={props.autoComplete}
        inputMode={props.inputMode}
        required={props.required ?? true}
        defaultValue={props.defaultValue}
        aria-invalid={props.error ? true : undefined}
        aria-describedby={describedBy(id, props.hint, props.error)}
        autoCapitalize={props.type === "email" || props.type === "password" ? "off" : undefined}
        spellcheck={props.type === "email" || props.type === "password" ? false : undefined}
      />
      {props.error && (
        <p id={`${id}-error`} class="field-error">
          {props.error}
        </p>
      )}
    </div>
  );
}

interface SelectFieldProps {
  name: string;
  label: ComponentChildren;
  options: readonly { value: string; label: string }[];
  defaultValue?: string;
  error?: string;
  hint?: string;
}

export function SelectField(props: SelectFieldProps) {
  const id = fieldId(props.name);
  return (
    <div class="field">
      <label for={id}>{props.label}</label>
      {props.hint && (
        <p id={`${id}-hint`} class="hint">
          {props.hint}
        </p>
      )}
      <select
        id={id}
        name={props.name}
        required
        aria-invalid={props.error ? true : undefined}
        aria-describedby={describedBy(id, props.hint, props.error)}
      >
        {props.options.map((option) => (
          // `selected` rather than the select's defaultValue, which Preact does not apply to <select>.
          <option key={option.value} value={option.value} selected={option.value === props.defaultValue}>
            {option.label}
          </option>
        ))}
      </select>
      {props.error && (
        <p id={`${id}-error`} class="field-error">
          {props.error}
        </p>
      )}
    </div>
  );
}

/** The form-level message: announced at once, and says what to do next. */
export function FormAlert({ message }: { message: string | undefined }) {
  if (!message) return null;
  return (
    <p role="alert" class="alert" tabIndex={-1}>
      {message}
    </p>
  );
}

export function SubmitButton(props: { busy: boolean; label: string; busyLabel: string }) {
  return (
    <button type="submit" class="primary" disabled={props.busy} aria-busy={props.busy || undefined}>
      {props.busy && <span class="spinner" aria-hidden="true" />}
      {props.busy ? props.busyLabel : props.label}
    </button>
  );
}

/** Turns zod issues into the same dotted-path map the server's issues use. */
export function issuesToFieldErrors(issues: readonly z.core.$ZodIssue[]): FieldErrors {
  const errors: FieldErrors = {};
  for (const issue of issues) errors[issue.path.map(String).join(".")] ??= issue.message;
  return errors;
}

/** Builds a nested object from dotted form field names: "admin.email" → { admin: { email } }. */
export function formValues(form: HTMLFormElement): Record<string, unknown> {
  const values: Record<string, unknown> = {};
  for (const [name, value] of new FormData(form)) {
    if (typeof value !== "string") continue;
    const keys = name.split(".");
    let target = values;
    for (const key of keys.slice(0, -1)) target = (target[key] ??= {}) as Record<string, unknown>;
    target[keys[keys.length - 1]!] = value;
  }
  return values;
}

interface SubmitOptions<S extends z.ZodType> {
  schema: S;
  /** Extra checks the schema cannot make (e.g. "passwords match"), by field path. */
  check?: (values: Record<string, unknown>) => FieldErrors;
  /** Builds the request body from the form values before validation. */
  toBody?: (values: Record<string, unknown>) => unknown;
  send: (body: z.output<S>) => Promise<void>;
}

const CHECK_FIELDS = "Check the fields marked below and try again.";

/**
 * State for one form: field errors, a form-level error, and busy. `onSubmit` validates on the
 * device first, then sends; server issues land on the same fields, and focus goes to the first
 * field that needs attention so a screen reader user hears what to fix.
 */
export function useForm<S extends z.ZodType>(options: SubmitOptions<S>) {
  const [busy, setBusy] = useState(false);
  const [errors, setErrors] = useState<FieldErrors>({});
  const [formError, setFormError] = useState<string>();
  const formRef = useRef<HTMLFormElement>(null);

  function focusFirstProblem(fieldErrors: FieldErrors) {
    // After the re-render, so aria-invalid is set.
    setTimeout(() => {
      const form = formRef.current;
      if (!form) return;
      // The first in the form's order, not the schema's.
      const invalid = Array.from(form.elements).find(
        (element) => (element instanceof HTMLInputElement || element instanceof HTMLSelectElement) && element.name in fieldErrors,
      );
      ((invalid as HTMLElement | undefined) ?? form.querySelector<HTMLElement>("[role=alert]"))?.focus();
    });
  }

  async function onSubmit(event: TargetedSubmitEvent<HTMLFormElement>) {
    event.preventDefault();
    if (busy) return;
    const values = formValues(event.currentTarget);
    const extra = options.check?.(values) ?? {};
    const parsed = options.schema.safeParse(options.toBody ? options.toBody(values) : values);
    const fieldErrors = { ...(parsed.success ? {} : issuesToFieldErrors(parsed.error.issues)), ...extra };
    if (!parsed.success || Object.keys(extra).length) {
      setErrors(fieldErrors);
      setFormError(CHECK_FIELDS);
      focusFirstProblem(fieldErrors);
      return;
    }
    setErrors({});
    setFormError(undefined);
    setBusy(true);
    try {
      await options.send(parsed.data);
    } catch (error) {
      const apiError =
        error instanceof ApiError
          ? error
          : new ApiError(0, "client_error", "Something went wrong in the app. Reload the page and try again.");
      setErrors(apiError.fieldErrors);
      setFormError(apiError.message);
      focusFirstProblem(apiError.fieldErrors);
    } finally {
      setBusy(false);
    }
  }

  /** Clears a field's error once the user edits it. */
  function onInput(event: TargetedEvent<HTMLFormElement>) {
    const name = (event.target as HTMLInputElement).name;
    if (name && errors[name]) {
      const { [name]: _cleared, ...rest } = errors;
      setErrors(rest);
    }
  }

  return { busy, errors, formError, formRef, onSubmit, onInput, setFormError };
}

/** A multi-line text field, labelled and with its error, like `Field`. */
export function TextArea(props: { name: string; label: string; error?: string; defaultValue?: string }) {
  const id = `field-${props.name}`;
  return (
    <div class="field">
      <label for={id}>{props.label}</label>
      <textarea
        id={id}
        name={props.name}
        rows={3}
        defaultValue={props.defaultValue}
        aria-invalid={props.error ? true : undefined}
        aria-describedby={props.error ? `${id}-error` : undefined}
      />
      {props.error && (
        <p id={`${id}-error`} class="field-error">
          {props.error}
        </p>
      )}
    </div>
  );
}

/** "a, b ,, c" → ["a", "b", "c"] (duplicates dropped). */
export function parseTags(text: unknown): string[] {
  return [...new Set(String(text ?? "").split(",").map((t) => t.trim()).filter(Boolean))];
}
