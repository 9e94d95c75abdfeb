/**
 * The signed-in frame: a header with the app's name and the user menu, the main navigation
 * (a bottom tab bar on phones, a row under the header on wider screens), and the page.
 */
import type { ComponentChildren } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import type { SessionInfo, User } from "../../shared/api/schemas";
import { ApiError } from "./api/client";
import { icons, Mark } from "./ui/icons";
import { ROLE_LABELS } from "./ui/labels";
import { flushOfflineEvents } from "./offline/events";
import { dropGoneCopies } from "./offline/gone";
import { useReachable } from "./offline/useReachable";
import { useOptionalDeviceKeys } from "./keys/context";
import { startUploadQueue, useUploadQueue } from "./upload/queue";
import { InboxCount } from "./video/InboxCount";
import "./shell.css";

interface NavItem {
  href: string;
  label: string;
  icon: () => preact.JSX.Element;
  adminOnly?: boolean;
  /** Not shown to site operators (they have no cases). */
  notForSiteOperators?: boolean;
  /** The only items a guest sees (they have nothing but what is shared with them). */
  forGuests?: boolean;
}

const NAV_ITEMS: readonly NavItem[] = [
  { href: "/shared", label: "Shared with me", icon: icons.cases, forGuests: true },
  { href: "/cases", label: "Cases", icon: icons.cases, notForSiteOperators: true },
  { href: "/requests", label: "Requests", icon: icons.requests },
  { href: "/cameras", label: "Cameras", icon: icons.cameras },
  { href: "/audit", label: "Audit", icon: icons.audit, adminOnly: true },
  { href: "/admin/users", label: "Admin", icon: icons.admin, adminOnly: true },
];

/** The pages under Admin, shown as a second row of links on every admin page. */
const ADMIN_PAGES: readonly { href: string; label: string }[] = [
  { href: "/admin/users", label: "Users" },
  { href: "/admin/settings", label: "Settings" },
  { href: "/admin/sign-in", label: "Sign-in" },
  { href: "/admin/sites", label: "Sites" },
  { href: "/admin/retention", label: "Retention" },
];

function section(path: string): string {
  return "/" + (path.split("/")[1] ?? "");
}

function UserMenu(props: { user: User; organisation: string; onSignOut: () => Promise<void> }) {
  const [open, setOpen] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const root = useRef<HTMLDivElement>(null);
  const button = useRef<HTMLButtonElement>(null);

  useEffect(() => {
    if (!open) return;
    const onPointerDown = (event: PointerEvent) => {
      if (!root.current?.contains(event.target as Node)) setOpen(false);
    };
    const onKeyDown = (event: KeyboardEvent) => {
      if (event.key === "Escape") {
        setOpen(false);
        button.current?.focus();
      }
    };
    document.addEventListener("pointerdown", onPointerDown);
    document.addEventListener("keydown", onKeyDown);
    return () => {
      document.removeEventListener("pointerdown", onPointerDown);
      document.removeEventListener("keydown", onKeyDown);
    };
  }, [open]);

  async function signOut() {
    setBusy(true);
    setError(undefined);
    try {
      await props.onSignOut();
    } catch (caught) {
      setError(
        caught instanceof ApiError
          ? `Couldn't sign out. ${caught.message}`
          : "Couldn't sign out. Reload the page and try again.",
      );
      setBusy(false);
    }
  }

  const initials = props.user.name
    .split(/\s+/)
    .filter(Boolean)
    .slice(0, 2)
    .map((part) => part[0]!.toUpperCase())
    .join("");

  return (
    <div class="user-menu" ref={root}>
      <button
        ref={button}
        type="button"
        class="user-button"
        aria-expanded={open}
        aria-controls="user-menu-panel"
        onClick={() => setOpen(!open)}
      >
        <span class="avatar" aria-hidden="true">
          {initials}
        </span>
        <span class="user-name">{props.user.name}</span>
        <span class="caret" aria-hidden="true">
          ▾
        </span>
      </button>
      <div id="user-menu-panel" class="menu-panel" hidden={!open}>
        <p class="menu-name">{props.user.name}</p>
        <p class="menu-email">{props.user.email}</p>
        <p class="menu-role">
          {ROLE_LABELS[props.user.role]}, {props.organisation}
        </p>
        <a class="menu-link" href="/settings/security" onClick={() => setOpen(false)}>
          Security and sessions
        </a>
        {props.user.role !== "site_operator" && (
          <a class="menu-link" href="/settings/keys" onClick={() => setOpen(false)}>
            Key passphrase
          </a>
        )}
        <button type="button" class="secondary" onClick={signOut} disabled={busy} aria-busy={busy || undefined}>
          {busy ? "Signing out…" : "Sign out"}
        </button>
        {error && (
          <p role="alert" class="alert">
            {error}
          </p>
        )}
      </div>
    </div>
  );
}

/** The header's link to the upload queue, with how many files are still on their way. */
function UploadsLink(props: { current: boolean }) {
  const { items } = useUploadQueue();
  const waiting = items.filter((i) => i.row.state !== "done").length;
  return (
    <a class="uploads-link" href="/uploads" aria-current={props.current ? "page" : undefined} aria-label={waiting ? `Uploads, ${waiting} not finished` : "Uploads"}>
      <icons.uploads />
      {waiting > 0 && (
        <span class="count" aria-hidden="true">
          {waiting}
        </span>
      )}
    </a>
  );
}

/** Says so while the server cannot be reached: what the user sees is what this device saved. */
function OfflineBanner() {
  const reachable = useReachable();
  if (reachable) return null;
  return (
    <p role="status" class="offline-banner">
      Offline. You see what this device saved; new evidence is encrypted here and uploads by itself when the connection is back.
    </p>
  );
}

export function Shell(props: {
  session: SessionInfo;
  path: string;
  onSignOut: () => Promise<void>;
  children: ComponentChildren;
}) {
  const isAdmin = props.session.user.role === "admin";
  const isOperator = props.session.user.role === "site_operator";
  const isGuest = props.session.user.role === "guest";
  const current = section(props.path);
  const reachable = useReachable();
  const userId = props.session.user.id;
  const keys = useOptionalDeviceKeys()?.keys;
  // The upload queue resumes as soon as the signed-in app shows (and again whenever the server is reachable again).
  useEffect(() => (keys ? startUploadQueue(userId, keys) : undefined), [userId, keys]);
  // Views made offline go to the audit trail as soon as the server can be reached.
  useEffect(() => {
    if (reachable) void flushOfflineEvents(userId);
    // Copies of evidence deleted or purged since (or no longer the user's to see) are dropped.
    if (reachable) void dropGoneCopies(userId).catch(() => undefined);
  }, [reachable, userId]);
  return (
    <div class="shell">
      <a class="skip-link" href="#main">
        Skip to content
      </a>
      <header class="app-header">
        <a class="brand-link" href={isGuest ? "/shared" : "/cases"}>
          <Mark />
          <span class="brand">Custody</span>
        </a>
        <span class="org-name">{props.session.organisation.name}</span>
        {!isGuest && !isOperator && <UploadsLink current={props.path === "/uploads"} />}
        <UserMenu user={props.session.user} organisation={props.session.organisation.name} onSignOut={props.onSignOut} />
      </header>
      <OfflineBanner />
      <nav aria-label="Main" class="main-nav">
        <ul>
          {NAV_ITEMS.filter((item) => (isGuest ? item.forGuests : !item.forGuests && (isAdmin || !item.adminOnly) && !(isOperator && item.notForSiteOperators))).map((item) => (
            <li key={item.href}>
              <a href={item.href} aria-current={section(item.href) === current ? "page" : undefined}>
                <item.icon />
                <span>{item.label}</span>
                {item.href === "/requests" && isOperator && <InboxCount />}
              </a>
            </li>
          ))}
        </ul>
      </nav>
      <main id="main" class="page" tabIndex={-1}>
        {isAdmin && current === "/admin" && (
          <nav aria-label="Admin" class="admin-nav">
            {ADMIN_PAGES.map((page) => (
              <a key={page.href} href={page.href} aria-current={page.href === props.path ? "page" : undefined}>
                {page.label}
              </a>
            ))}
          </nav>
        )}
        {props.children}
      </main>
    </div>
  );
}
