/** Adding evidence to a case from this device: the file picker, and the camera on phones. */
import type { TargetedEvent } from "preact";
import { useEffect, useState } from "preact/hooks";
import { describeRule, type Category } from "../../../shared/api/retention";
import { retentionApi } from "../retention/api";
import type { CaseDetail } from "../../../shared/api/cases";
import type { SessionInfo } from "../../../shared/api/schemas";
import type { DeviceKeys } from "../keys/store";
import { addFiles, currentLocation, prepareEncryption } from "./queue";
import { isPhone } from "../ui/device";
import "./upload.css";

/** "Add photos, videos or documents" (and, on phones, "Take photo or video"): the files go into the upload queue for the case. */
export function AddEvidence(props: { detail: CaseDetail; session: SessionInfo; keys: DeviceKeys }) {
  const [error, setError] = useState<string>();
  // The retention category of what is added (the organisation's default unless chosen); offline, the default.
  const [categories, setCategories] = useState<Category[]>();
  const [categoryId, setCategoryId] = useState<string>();
  // Loaded while the user picks a file, so its first part is sealed and sent at once.
  useEffect(prepareEncryption, []);
  useEffect(() => {
    retentionApi.categories().then((list) => {
      setCategories(list.categories);
      setCategoryId(list.categories.find((c) => c.isDefault)?.id);
    }, () => setCategories(undefined));
  }, []);
  async function picked(event: TargetedEvent<HTMLInputElement>, fromCamera: boolean) {
    const input = event.currentTarget;
    const files = Array.from(input.files ?? []);
    input.value = "";
    if (files.length === 0) return;
    setError(undefined);
    try {
      // A capture records where it was made when the device allows it (the location is encrypted with the file).
      const location = fromCamera ? await currentLocation() : null;
      await addFiles(files, { userId: props.session.user.id, caseDetail: props.detail, keys: props.keys, fromCamera, ...(location ? { location } : {}), ...(categoryId ? { categoryId } : {}) });
    } catch (caught) {
      setError(`Couldn't add ${files.length === 1 ? "the file" : "the files"}: ${caught instanceof Error ? caught.message : String(caught)}. Reload the page and try again.`);
    }
  }
  return (
    <div class="add-evidence">
      {categories && categories.length > 1 && (
        <div class="field">
          <label for="evidence-category">Category (how long it is kept)</label>
          <select id="evidence-category" onChange={(event) => setCategoryId(event.currentTarget.value)}>
            {categories.map((c) => (
              <option key={c.id} value={c.id} selected={c.id === categoryId}>
                {c.name}: {describeRule(c.rule).toLowerCase()}
              </option>
            ))}
          </select>
        </div>
      )}
      <div class="file-button">
        <input id="pick-files" type="file" multiple class="visually-hidden" onChange={(e) => void picked(e, false)} />
        <label for="pick-files" class="button-like primary">
          Add photos, videos or documents
        </label>
      </div>
      {isPhone() && (
        <div class="file-button">
          <input id="capture" type="file" accept="image/*,video/*" capture="environment" class="visually-hidden" onChange={(e) => void picked(e, true)} />
          <label for="capture" class="button-like">
            Take photo or video
          </label>
        </div>
      )}
      <p class="hint">Files are encrypted and signed on this device before anything is sent. Uploads continue after a reload or when the connection comes back.</p>
      {error && (
        <p role="alert" class="alert">
          {error}
        </p>
      )}
    </div>
  );
}
