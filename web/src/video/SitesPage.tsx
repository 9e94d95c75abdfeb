/**
 * Admin → Sites: register a camera owner's site and download its agent's configuration file
 * (its one-time enrolment token is shown only in that file, once), see whether each agent is
 * enrolled and connected, issue a new file for a reinstalled agent, and choose the site's
 * operators (users with the site operator role).
 */
import type { TargetedEvent } from "preact";
import { useEffect, useState } from "preact/hooks";
import type { User } from "../../../shared/api/schemas";
import type { Site, SiteConfigFile } from "../../../shared/api/video";
import { api } from "../api/client";
import { formatDateTime } from "../ui/format";
import { PageHeading } from "../ui/layout";
import { videoApi } from "./api";
import { messageOf } from "../ui/messages";
import { useLiveRefresh } from "./live";
import "./video.css";
import { allPages, LoadMore, usePaged } from "../ui/paging";
import { saveBlob } from "../ui/download";

function download(config: SiteConfigFile): void {
  const name = config.siteName.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "") || config.siteId;
  saveBlob(new Blob([`${JSON.stringify(config, null, 2)}\n`], { type: "application/json" }), `custody-site-${name}.json`);
}

export function SitesPage() {
  const paged = usePaged<Site>((cursor) => videoApi.sites(cursor ? { cursor } : {}).then((page) => ({ items: page.sites, nextCursor: page.nextCursor })), []);
  const sites = paged.items;
  const [operators, setOperators] = useState<User[]>([]);
  const [usersError, setUsersError] = useState<string>();
  const error = usersError ?? (sites ? undefined : paged.error);
  const [creating, setCreating] = useState(false);
  const [issued, setIssued] = useState<SiteConfigFile>();

  const load = async () => paged.refresh();
  // The agents' status (enrolled, connected) shows as it changes.
  useLiveRefresh(load);
  useEffect(() => {
    void allPages((cursor) => api.listUsers({ limit: "200", ...(cursor ? { cursor } : {}) }).then((page) => ({ items: page.users, nextCursor: page.nextCursor }))).then(
      (users) => setOperators(users.filter((u) => u.role === "site_operator" && u.status !== "disabled")),
      (caught: unknown) => setUsersError(messageOf(caught)),
    );
  }, []);

  return (
    <>
      <PageHeading>Sites</PageHeading>
      <p class="hint">A site is a camera owner (a business, a school, another agency). Its agent, a small program, runs on a computer at the site next to its recordings; the configuration file made here sets it up.</p>
      {!creating && (
        <button type="button" class="primary wide" onClick={() => setCreating(true)}>
          Register a site
        </button>
      )}
      {creating && (
        <NewSiteForm
          onCancel={() => setCreating(false)}
          onCreated={(config) => {
            setCreating(false);
            setIssued(config);
            void load();
          }}
        />
      )}
      {issued && <IssuedConfig config={issued} onDone={() => setIssued(undefined)} />}
      {error && (
        <p role="alert" class="alert">
          {error}
        </p>
      )}
      {sites && sites.length === 0 && <p class="empty">No sites yet.</p>}
      {sites && sites.length > 0 && (
        <ul class="request-list" aria-label="Sites">
          {sites.map((s) => (
            <li key={s.id}>
              <SiteCard site={s} operators={operators} onChanged={load} onIssued={setIssued} />
            </li>
          ))}
        </ul>
      )}
      {sites && <LoadMore hasMore={paged.hasMore} loading={paged.loading} error={paged.error} noun="sites" onMore={paged.more} />}
    </>
  );
}

function IssuedConfig(props: { config: SiteConfigFile; onDone: () => void }) {
  return (
    <section class="card notice" aria-labelledby="issued-heading">
      <h2 id="issued-heading">Configuration file for {props.config.siteName}</h2>
      <p>
        It holds a one-time enrolment token, valid until {formatDateTime(props.config.enrolmentExpiresAt)}, shown only now. Download it, give it to the site, and have them fill
        in their archive folder and cameras, then run <code>npm run agent -- --config site.json</code>.
      </p>
      <div class="actions">
        <button type="button" class="primary" onClick={() => download(props.config)}>
          Download configuration file
        </button>
        <button type="button" onClick={props.onDone}>
          Done
        </button>
      </div>
    </section>
  );
}

function NewSiteForm(props: { onCancel: () => void; onCreated: (config: SiteConfigFile) => void }) {
  const [name, setName] = useState("");
  const [address, setAddress] = useState("");
  const [holdDays, setHoldDays] = useState("30");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();

  async function submit(event: Event) {
    event.preventDefault();
    if (!name.trim()) return setError("Enter the site's name.");
    const days = Number(holdDays);
    if (!Number.isInteger(days) || days < 1 || days > 365) return setError("Hold days: a whole number from 1 to 365.");
    setBusy(true);
    setError(undefined);
    try {
      props.onCreated((await videoApi.createSite({ name: name.trim(), address: address.trim(), holdDays: days })).config);
    } catch (caught) {
      setError(messageOf(caught));
      setBusy(false);
    }
  }

  return (
    <section class="card" aria-labelledby="new-site-heading">
      <h2 id="new-site-heading">Register a site</h2>
      <form aria-labelledby="new-site-heading" onSubmit={(e) => void submit(e)} noValidate>
        {error && (
          <p role="alert" class="alert">
            {error}
          </p>
        )}
        <div class="field">
          <label for="site-name">Site name</label>
          <input id="site-name" value={name} onInput={(e: TargetedEvent<HTMLInputElement>) => setName(e.currentTarget.value)} />
        </div>
        <div class="field">
          <label for="site-address">Address</label>
          <input id="site-address" value={address} onInput={(e: TargetedEvent<HTMLInputElement>) => setAddress(e.currentTarget.value)} />
        </div>
        <div class="field">
          <label for="site-hold-days">Hold days</label>
          <p class="hint">Held video waits this long for a decision; then it is deleted at the site.</p>
          <input id="site-hold-days" inputMode="numeric" value={holdDays} onInput={(e: TargetedEvent<HTMLInputElement>) => setHoldDays(e.currentTarget.value)} />
        </div>
        <div class="actions">
          <button type="submit" class="primary" disabled={busy}>
            {busy ? "Registering…" : "Register and make the configuration file"}
          </button>
          <button type="button" onClick={props.onCancel} disabled={busy}>
            Cancel
          </button>
        </div>
      </form>
    </section>
  );
}

function SiteCard(props: { site: Site; operators: User[]; onChanged: () => Promise<void>; onIssued: (config: SiteConfigFile) => void }) {
  const s = props.site;
  const [pick, setPick] = useState("");
  const [error, setError] = useState<string>();
  const headingId = `site-${s.id}`;
  const candidates = props.operators.filter((u) => !s.operators.some((o) => o.id === u.id));

  async function act(action: () => Promise<unknown>) {
    setError(undefined);
    try {
      await action();
      await props.onChanged();
    } catch (caught) {
      setError(messageOf(caught));
    }
  }

  const agent = !s.agent.enrolled
    ? "Agent not enrolled yet"
    : s.agent.connected
      ? "Agent connected"
      : `Agent offline${s.agent.lastSeenAt ? `, last seen ${formatDateTime(s.agent.lastSeenAt)}` : ""}`;

  return (
    <article class="card" aria-labelledby={headingId}>
      <h3 id={headingId}>{s.name}</h3>
      <p class="muted">{s.address}</p>
      <p>
        <span class={`badge ${s.agent.connected ? "badge-active" : "badge-disabled"}`}>{agent}</span> · {s.cameraCount} {s.cameraCount === 1 ? "camera" : "cameras"} · holds {s.holdDays} days
      </p>
      <h4>Operators</h4>
      {s.operators.length === 0 && <p class="muted">No operator yet: nobody can approve this site's requests.</p>}
      <ul>
        {s.operators.map((o) => (
          <li key={o.id}>
            {o.name} ({o.email}){" "}
            <button type="button" class="small" onClick={() => void act(() => videoApi.removeOperator(s.id, o.id))}>
              Remove {o.name}
            </button>
          </li>
        ))}
      </ul>
      {candidates.length > 0 && (
        <div class="role-form">
          <div class="field">
            <label for={`operator-${s.id}`}>Add an operator</label>
            <select id={`operator-${s.id}`} value={pick} onChange={(e: TargetedEvent<HTMLSelectElement>) => setPick(e.currentTarget.value)}>
              <option value="">Choose a site operator</option>
              {candidates.map((u) => (
                <option key={u.id} value={u.id}>
                  {u.name} ({u.email})
                </option>
              ))}
            </select>
          </div>
          <button type="button" disabled={!pick} onClick={() => void act(() => videoApi.addOperator(s.id, pick).then(() => setPick("")))}>
            Add
          </button>
        </div>
      )}
      <div class="actions">
        <button type="button" onClick={() => void act(async () => props.onIssued((await videoApi.newEnrolment(s.id)).config))}>
          New configuration file
        </button>
      </div>
      {error && (
        <p role="alert" class="alert">
          {error}
        </p>
      )}
    </article>
  );
}
