/**
 * Where a requested video came from, on its evidence page: the camera (from the metadata signed
 * and encrypted by the site's agent) and the request's history (who asked, when it was
 * exported, who approved it, when it arrived).
 */
import { useEffect, useState } from "preact/hooks";
import type { VideoRequest } from "../../../shared/api/video";
import type { EvidenceMetadata } from "../../../shared/crypto/index";
import { formatDateTime } from "../ui/format";
import { facing } from "../video/format";
import { videoApi } from "../video/api";

export function VideoProvenance(props: { requestId: string; camera: EvidenceMetadata["camera"] }) {
  const [request, setRequest] = useState<VideoRequest | null>();
  useEffect(() => {
    void videoApi.request(props.requestId).then(setRequest, () => setRequest(null));
  }, [props.requestId]);
  const camera = props.camera ?? {};
  const text = (key: string) => (typeof camera[key] === "string" ? (camera[key] as string) : undefined);
  const num = (key: string) => (typeof camera[key] === "number" ? (camera[key] as number) : null);
  const lat = num("latitude");
  const lon = num("longitude");
  return (
    <section class="card" aria-labelledby="provenance-heading">
      <h2 id="provenance-heading">Requested video</h2>
      <dl class="request-facts">
        <dt>Camera</dt>
        <dd>
          {[text("name"), text("siteName"), facing(num("direction")), lat !== null && lon !== null ? `${lat.toFixed(5)}, ${lon.toFixed(5)}` : ""].filter(Boolean).join(" · ")}
          {text("recorderId") ? ` (recorder ${text("recorderId")})` : ""}
        </dd>
        {text("footageStart") && text("footageEnd") && (
          <>
            <dt>Footage</dt>
            <dd>
              {formatDateTime(text("footageStart")!)} to {formatDateTime(text("footageEnd")!)}
            </dd>
          </>
        )}
        {request && (
          <>
            <dt>Requested</dt>
            <dd>
              {formatDateTime(request.createdAt)} by {request.requestedBy.name}: “{request.reason}”
            </dd>
            {request.exportedAt && (
              <>
                <dt>Exported</dt>
                <dd>{formatDateTime(request.exportedAt)} at the site, held encrypted</dd>
              </>
            )}
            {request.decidedBy && request.decidedAt && (
              <>
                <dt>Approved</dt>
                <dd>
                  {formatDateTime(request.decidedAt)} by {request.decidedBy.name}
                </dd>
              </>
            )}
            {request.deliveredAt && (
              <>
                <dt>Delivered</dt>
                <dd>{formatDateTime(request.deliveredAt)}</dd>
              </>
            )}
          </>
        )}
        <dt>Request</dt>
        <dd>
          <code>{props.requestId}</code> (named in the signed manifest)
        </dd>
      </dl>
    </section>
  );
}
