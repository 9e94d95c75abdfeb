import { useId, useState } from "preact/hooks";

/** A read-only value with a Copy button (a link, an access code). */
export function CopyField(props: { label: string; value: string }) {
  const id = useId();
  const [copied, setCopied] = useState("");
  async function copy() {
    try {
      await navigator.clipboard.writeText(props.value);
      setCopied("Copied.");
    } catch {
      setCopied("Couldn't copy: select the text and copy it by hand.");
    }
  }
  return (
    <div class="copy-field">
      <label for={id}>{props.label}</label>
      <div class="copy-row">
        <input id={id} readOnly value={props.value} onFocus={(event) => (event.currentTarget as HTMLInputElement).select()} />
        <button type="button" class="small" onClick={() => void copy()}>
          Copy<span class="visually-hidden"> {props.label.toLowerCase()}</span>
        </button>
      </div>
      <span role="status" class="muted">
        {copied}
      </span>
    </div>
  );
}
