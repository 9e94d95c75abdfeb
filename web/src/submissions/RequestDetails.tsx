/**
 * On the public sending page of a video request's link (docs/submissions.md §7): what the
 * request asks the business for, the cameras, the time range and the reason, as the request
 * shows them to the camera owner. Nothing else of the case reaches the page.
 */
import type { PublicRequestDetails } from "../../../shared/api/submissions";
import { formatDateTime } from "../ui/format";

export function RequestDetails(props: { request: PublicRequestDetails | null | undefined }) {
  const r = props.request;
  if (!r) return null;
  const minutes = Math.round((Date.parse(r.end) - Date.parse(r.start)) / 60_000);
  return (
    <section class="card request-details" aria-labelledby="request-details-heading">
      <h2 id="request-details-heading">The video asked for</h2>
      <dl>
        <dt>{r.cameras.length === 1 ? "Camera" : "Cameras"}</dt>
        <dd>{r.cameras.join(", ")}</dd>
        <dt>From</dt>
        <dd>{formatDateTime(r.start)}</dd>
        <dt>To</dt>
        <dd>
          {formatDateTime(r.end)} ({minutes} min)
        </dd>
        <dt>Why</dt>
        <dd>{r.reason}</dd>
      </dl>
      <p class="muted">Export this footage from your recorder as it is, and add the files below.</p>
    </section>
  );
}
