/**
 * One tap from the home screen: take a photo or video (phones) or pick files, straight into
 * "My captures". Each file is encrypted on this device at once, to the user's own key, and queued
 * for upload like any other (offline too); it is filed to a case later, from My captures.
 */
import type { TargetedEvent } from "preact";
import { useEffect, useState } from "preact/hooks";
import type { SessionInfo } from "../../../shared/api/schemas";
import { useDeviceKeys } from "../keys/context";
import { isPhone } from "../ui/device";
import { messageOf } from "../ui/messages";
import { addFiles, currentLocation, prepareEncryption } from "../upload/queue";
import { capturesApi, capturesTarget } from "./api";
import "./captures.css";

export function CaptureBar(props: { session: SessionInfo; showLink?: boolean }) {
  const { keys } = useDeviceKeys();
  const [note, setNote] = useState<string>();
  const [error, setError] = useState<string>();
  // Kept on the device while online, so a capture can be encrypted to it offline later.
  useEffect(() => void capturesApi.myEncryptionKey().catch(() => undefined), [props.session.user.id]);
  // Loaded while the user picks a file, so its first part is sealed and sent at once.
  useEffect(prepareEncryption, []);
  async function picked(event: TargetedEvent<HTMLInputElement>, fromCamera: boolean) {
    const input = event.currentTarget;
    const files = Array.from(input.files ?? []);
    input.value = "";
    if (files.length === 0 || !keys) return;
    setError(undefined);
    setNote(undefined);
    try {
      const target = await capturesTarget(props.session.user.id);
      // A capture records where it was made when the device allows it (encrypted with the file).
      const location = fromCamera ? await currentLocation() : null;
      await addFiles(files, { userId: props.session.user.id, caseDetail: target, keys, fromCamera, ...(location ? { location } : {}) });
      setNote(`${files.length === 1 ? "1 file" : `${files.length} files`} added to My captures: encrypted on this device, uploading now. File ${files.length === 1 ? "it" : "them"} to a case from My captures.`);
    } catch (caught) {
      setError(`Couldn't capture: ${messageOf(caught)}`);
    }
  }
  return (
    <section class="capture-bar" aria-labelledby="capture-bar-heading">
      <h2 id="capture-bar-heading" class="visually-hidden">
        Capture
      </h2>
      <div class="capture-actions">
        {isPhone() && (
          <div class="file-button">
            <input id="quick-capture" type="file" accept="image/*,video/*" capture="environment" class="visually-hidden" onChange={(e) => void picked(e, true)} />
            <label for="quick-capture" class="button-like primary">
              Take photo or video
            </label>
          </div>
        )}
        <div class="file-button">
          <input id="quick-pick" type="file" multiple class="visually-hidden" onChange={(e) => void picked(e, false)} />
          <label for="quick-pick" class={isPhone() ? "button-like" : "button-like primary"}>
            Capture from files
          </label>
        </div>
        {props.showLink !== false && (
          <a class="button-like" href="/captures">
            My captures
          </a>
        )}
      </div>
      <p class="hint">Goes to My captures first, encrypted on this device; file it to a case when you are ready.</p>
      <p role="status" class="capture-note">
        {note}
      </p>
      {error && (
        <p role="alert" class="alert">
          {error}
        </p>
      )}
    </section>
  );
}
