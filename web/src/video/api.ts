/**
 * Calls to the video requests API (sites, cameras, requests), each resolving to the parsed body
 * or throwing an `ApiError` (api/client.ts). No key material passes here: held clips stay at
 * the site until approval, and then arrive as ordinary encrypted evidence.
 */
import {
  CameraList,
  Site,
  SiteCreated,
  SiteList,
  VideoRequest,
  VideoRequestList,
  type CreateSiteRequest,
  type CreateVideoRequest,
  type RequestStatus,
} from "../../../shared/api/video";
import { GeocodeResults, MapSettings } from "../../../shared/api/map";
import { client, readResponse } from "../api/client";

export const videoApi = {
  /** A page of sites, by name. */
  sites: (query: { cursor?: string; limit?: string } = {}) => readResponse(client.api.sites.$get({ query }), SiteList),
  createSite: (json: CreateSiteRequest) => readResponse(client.api.sites.$post({ json }), SiteCreated),
  newEnrolment: (id: string) => readResponse(client.api.sites[":id"].enrolment.$post({ param: { id } }), SiteCreated),
  addOperator: (id: string, userId: string) => readResponse(client.api.sites[":id"].operators[":userId"].$put({ param: { id, userId } }), Site),
  removeOperator: (id: string, userId: string) => readResponse(client.api.sites[":id"].operators[":userId"].$delete({ param: { id, userId } }), Site),
  mapSettings: () => readResponse(client.api.settings.map.$get(), MapSettings),
  /** Places for an address, through the organisation's geocoder (the address goes to that service). */
  geocode: (q: string) => readResponse(client.api.settings.map.geocode.$get({ query: { q } }), GeocodeResults),
  /** A page of cameras: by site and name, or nearest first with lat and lon. */
  cameras: (query: { siteId?: string; lat?: string; lon?: string; cursor?: string; limit?: string }) => readResponse(client.api.cameras.$get({ query }), CameraList),
  /** A page of video requests, newest first. */
  requests: (query: { caseId?: string; status?: RequestStatus; cursor?: string; limit?: string }) => readResponse(client.api["video-requests"].$get({ query }), VideoRequestList),
  request: (id: string) => readResponse(client.api["video-requests"][":id"].$get({ param: { id } }), VideoRequest),
  create: (json: CreateVideoRequest) => readResponse(client.api["video-requests"].$post({ json }), VideoRequest),
  approve: (id: string) => readResponse(client.api["video-requests"][":id"].approve.$post({ param: { id } }), VideoRequest),
  deny: (id: string, note: string) => readResponse(client.api["video-requests"][":id"].deny.$post({ param: { id }, json: { note } }), VideoRequest),
};

export const REQUEST_STATUS_LABELS: Record<RequestStatus, string> = {
  requested: "Requested",
  exporting: "Exporting",
  held: "Held, awaiting approval",
  approved: "Approved, sending",
  delivered: "Delivered",
  delivered_by_upload: "Delivered by upload",
  denied: "Denied",
  unavailable: "Video unavailable",
  expired: "Expired",
};

/** How often open lists refresh while on screen (status changes show within this). */
export const LIVE_REFRESH_MS = 3000;
