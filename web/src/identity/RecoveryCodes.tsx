/** One-time recovery codes, shown once: download or copy them, then confirm they are saved. */
import { useState } from "preact/hooks";
import { saveBlob } from "../ui/download";

export function RecoveryCodesPanel(props: { codes: string[]; onDone: () => void; doneLabel?: string }) {
  const [saved, setSaved] = useState(false);
  function download() {
    const text = `Custody recovery codes (each works once)\n\n${props.codes.join("\n")}\n`;
    saveBlob(new Blob([text], { type: "text/plain" }), "custody-recovery-codes.txt");
  }
  return (
    <section aria-labelledby="codes-heading" class="stack">
      <h2 id="codes-heading">Save your recovery codes</h2>
      <p>
        If you lose your phone or passkey, each of these codes signs you in once. They are shown only now: download them or write
        them down, and keep them somewhere safe.
      </p>
      <ul class="recovery-codes" aria-label="Recovery codes">
        {props.codes.map((code) => (
          <li key={code}>
            <code>{code}</code>
          </li>
        ))}
      </ul>
      <div class="actions">
        <button type="button" class="secondary" onClick={download}>
          Download codes
        </button>
      </div>
      <label class="checkbox">
        <input type="checkbox" checked={saved} onChange={(event) => setSaved(event.currentTarget.checked)} />
        I have saved my recovery codes
      </label>
      <button type="button" class="primary" disabled={!saved} onClick={props.onDone}>
        {props.doneLabel ?? "Continue"}
      </button>
    </section>
  );
}
