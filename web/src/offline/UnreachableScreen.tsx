/** Shown when the app cannot load its first answer from the server. */
import { useEffect, useRef } from "preact/hooks";
import { PublicLayout } from "../ui/layout";

export function UnreachableScreen(props: { message: string; retrying: boolean; onRetry: () => void }) {
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => heading.current?.focus(), []);
  return (
    <PublicLayout>
      <h1 ref={heading} tabIndex={-1}>
        Custody isn't available
      </h1>
      <p role="alert" class="alert">
        {props.message}
      </p>
      <button type="button" class="primary" onClick={props.onRetry} disabled={props.retrying} aria-busy={props.retrying || undefined}>
        {props.retrying && <span class="spinner" aria-hidden="true" />}
        {props.retrying ? "Retrying…" : "Retry"}
      </button>
    </PublicLayout>
  );
}
