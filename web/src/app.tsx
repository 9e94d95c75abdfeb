/**
 * The app's top level: on load it asks the server whether first-run setup is needed and who
 * is signed in, then shows Setup, Sign in, the invitation screen, or (once the user's keys are
 * unlocked on this device, see keys/gate.tsx) the signed-in shell.
 */
import { useEffect, useRef, useState } from "preact/hooks";
import type { SessionInfo } from "../../shared/api/schemas";
import { api, ApiError, onUnauthorized, UNREACHABLE_MESSAGE } from "./api/client";
import { onReachability } from "./api/connectivity";
import { forgetSaved, forgetSession, hadSession, noteActivity, offlineSession, saveSession, setCacheUser } from "./offline/cache";
import { KeyGate } from "./keys/gate";
import { ReauthDialog } from "./identity/reauth";
import { forgetSignInPassword } from "./identity/password-memory";
import { MfaChallengeScreen } from "./identity/MfaChallengeScreen";
import { MfaEnrolScreen } from "./identity/MfaEnrolScreen";
import { SecurityPage } from "./identity/SecurityPage";
import { SettingsPage } from "./admin/SettingsPage";
import { UpdatePrompt } from "./offline/pwa";
import { navigate, onLinkClick, usePath, useSearch } from "./ui/router";
import { AuditPage } from "./audit/AuditPage";
import { IdentityProviderPage } from "./admin/IdentityProviderPage";
import { InviteScreen } from "./identity/InviteScreen";
import { KeySettingsPage } from "./keys/KeySettingsPage";
import { NoAccessPage, NotFoundPage } from "./ui/placeholder";
import { CaseListPage } from "./cases/CaseListPage";
import { CasePage } from "./cases/CasePage";
import { EvidencePage } from "./evidence/EvidencePage";
import { useDeviceKeys } from "./keys/context";
import { CamerasPage } from "./video/CamerasPage";
import { RequestsPage } from "./video/RequestsPage";
import { SitesPage } from "./video/SitesPage";
import { RetentionPage } from "./retention/RetentionPage";
import { PageHeading, PublicLayout } from "./ui/layout";
import { SetupScreen } from "./identity/SetupScreen";
import { SignInScreen } from "./identity/SignInScreen";
import { UnreachableScreen } from "./offline/UnreachableScreen";
import { UsersPage } from "./admin/UsersPage";
import { UploadsPage } from "./upload/UploadsPage";
import { CapturesPage } from "./captures/CapturesPage";
import { SharePage } from "./upload/SharePage";
import { Shell } from "./shell";
import { SharedPage } from "./sharing/SharedPage";
import { LinkScreen } from "./sharing/LinkScreen";
import { SubmitScreen } from "./submissions/SubmitScreen";
import { emptyFolder } from "./upload/opfs";

export const SESSION_ENDED = "Your session ended. Sign in again.";
export const OFFLINE_SESSION_ENDED =
  "You're offline, and your session has ended (it was idle too long, or reached its time limit). Sign in when you're back online: files waiting on this device are kept and upload after.";

type State =
  | { kind: "loading" }
  | { kind: "unreachable"; message: string }
  | { kind: "setup" }
  | { kind: "signed-out"; notice?: string }
  /** `offline`: the server could not be reached, and this is the session saved on the device (still within its lifetime). */
  | { kind: "signed-in"; session: SessionInfo; offline?: boolean };

/** Where a path goes when signed in; redirects are resolved before rendering. */
const REDIRECTS: Record<string, string> = { "/": "/cases", "/invite": "/cases", "/signin": "/cases", "/admin": "/admin/users" };

export function App() {
  const path = usePath();
  const [state, setState] = useState<State>({ kind: "loading" });
  const [retrying, setRetrying] = useState(false);
  const stateRef = useRef(state);
  stateRef.current = state;
  // Signed out, whatever the way (the button, an ended session): the remembered sign-in password goes too.
  useEffect(() => {
    if (state.kind === "signed-out") forgetSignInPassword();
  }, [state.kind]);

  async function boot() {
    try {
      const { needed } = await api.setupStatus();
      if (needed) return setState({ kind: "setup" });
      try {
        signedIn(await api.session());
      } catch (error) {
        if (error instanceof ApiError && error.status === 401) {
          await forgetSession();
          setState({ kind: "signed-out" });
        } else throw error;
      }
    } catch (error) {
      // The server cannot be reached: open as the session saved on this device, within its limits.
      const unreachable = error instanceof ApiError && error.code === "unreachable";
      const saved = unreachable ? await offlineSession() : undefined;
      if (saved) {
        setCacheUser(saved.user.id);
        return setState({ kind: "signed-in", session: saved, offline: true });
      }
      if (unreachable && (await hadSession())) return setState({ kind: "signed-out", notice: OFFLINE_SESSION_ENDED });
      setState({ kind: "unreachable", message: error instanceof ApiError ? error.message : UNREACHABLE_MESSAGE });
    }
  }

  useEffect(() => {
    void boot();
    onUnauthorized(() => {
      // A refused second factor (401) is not an ended session: the MFA screen shows it.
      if (stateRef.current.kind === "signed-in" && stateRef.current.session.stage === "active") {
        void forgetSession();
        setState({ kind: "signed-out", notice: SESSION_ENDED });
      }
    });
    // Back online after opening offline: the server's session rules apply again (a 401 signs out above).
    const stopWatching = onReachability((reachable) => {
      const current = stateRef.current;
      if (reachable && current.kind === "signed-in" && current.offline) {
        api.session().then(signedIn, () => undefined);
      }
    });
    document.addEventListener("click", onLinkClick);
    return () => {
      onUnauthorized(undefined);
      stopWatching();
      document.removeEventListener("click", onLinkClick);
    };
  }, []);

  // A site operator has no cases: their home is the requests inbox. A guest's is what is shared with them.
  const role = state.kind === "signed-in" ? state.session.user.role : undefined;
  const home = role === "site_operator" ? "/requests" : role === "guest" ? "/shared" : undefined;
  const redirect = state.kind === "signed-in" ? (home && (path === "/" || path === "/cases" || path === "/signin" || path === "/invite") ? home : REDIRECTS[path]) : undefined;
  useEffect(() => {
    if (redirect) navigate(redirect, { replace: true });
  }, [redirect]);

  function signedIn(session: SessionInfo) {
    setCacheUser(session.stage === "active" ? session.user.id : undefined);
    void saveSession(session);
    // Sign-in answers do not carry the session's limits: fetch them, for opening offline later.
    if (session.stage === "active" && !session.limits) api.session().then(saveSession, () => undefined);
    setState({ kind: "signed-in", session });
  }

  // Offline, the session's limits are applied on the device (idle and lifetime, see offline/cache.ts):
  // checked every half minute; past them, Sign in (which needs the server) is all there is.
  const offline = state.kind === "signed-in" && !!state.offline;
  useEffect(() => {
    if (!offline) return;
    const onUse = () => noteActivity();
    const timer = setInterval(() => {
      void offlineSession().then((session) => {
        if (session || stateRef.current.kind !== "signed-in" || !stateRef.current.offline) return;
        setState({ kind: "signed-out", notice: OFFLINE_SESSION_ENDED });
      });
    }, 30_000);
    addEventListener("pointerdown", onUse);
    addEventListener("keydown", onUse);
    return () => {
      clearInterval(timer);
      removeEventListener("pointerdown", onUse);
      removeEventListener("keydown", onUse);
    };
  }, [offline]);

  async function signOut() {
    try {
      await api.signOut();
    } catch (error) {
      // Already signed out on the server (the session had ended): the outcome the user asked for.
      if (!(error instanceof ApiError && error.status === 401)) throw error;
    }
    if (state.kind === "signed-in") await forgetSaved(state.session.user.id).catch(() => undefined);
    // Plaintext the app wrote to this device's storage for the user goes with them (docs/offline.md).
    await Promise.all([emptyFolder("views"), emptyFolder("redactions")]);
    await forgetSession();
    setCacheUser(undefined);
    setState({ kind: "signed-out" });
    navigate("/", { replace: true });
  }

  async function retry() {
    setRetrying(true);
    await boot();
    setRetrying(false);
  }

  // A link share opens without an account, whoever is signed in on this browser.
  const link = /^\/s\/([0-9a-f]{32})$/.exec(path);
  if (link) return <LinkScreen shareId={link[1]!} />;
  // So does a submission link (docs/submissions.md).
  const submission = /^\/submit\/([A-Za-z0-9_-]{43})$/.exec(path);
  if (submission) return <SubmitScreen linkId={submission[1]!} />;

  return (
    <>
      {state.kind === "loading" && (
        <PublicLayout>
          <p class="muted" aria-busy="true">
            Loading Custody…
          </p>
        </PublicLayout>
      )}
      {state.kind === "unreachable" && <UnreachableScreen message={state.message} retrying={retrying} onRetry={retry} />}
      {state.kind === "setup" && <SetupScreen onSignedIn={signedIn} />}
      {state.kind === "signed-out" &&
        (path === "/invite" ? (
          <InviteScreen onSignedIn={signedIn} />
        ) : (
          <SignInScreen notice={state.notice} onSignedIn={signedIn} />
        ))}
      {state.kind === "signed-in" && state.session.stage === "mfa_pending" && <MfaChallengeScreen session={state.session} onDone={signedIn} onSignOut={signOut} />}
      {state.kind === "signed-in" && state.session.stage === "mfa_enrolment" && <MfaEnrolScreen session={state.session} onDone={signedIn} onSignOut={signOut} />}
      {state.kind === "signed-in" && state.session.stage === "active" && (
        // Everyone but a site operator, admins too, unlocks (or first creates) their keys before the app.
        state.session.user.role === "site_operator" ? (
          // A site operator holds no evidence keys: approving video needs none, so no key passphrase is asked.
          !redirect && (
            <Shell session={state.session} path={path} onSignOut={signOut}>
              <OperatorPage path={path} session={state.session} />
            </Shell>
          )
        ) : (
          <KeyGate key={state.session.user.id} session={state.session} onSignOut={signOut}>
            {!redirect && (
              <Shell session={state.session} path={path} onSignOut={signOut}>
                <Page path={path} session={state.session} />
              </Shell>
            )}
          </KeyGate>
        )
      )}
      <UpdatePrompt />
      <ReauthDialog />
    </>
  );
}

function Page(props: { path: string; session: SessionInfo }) {
  const isAdmin = props.session.user.role === "admin";
  if (props.session.user.role === "guest") return <GuestPage path={props.path} session={props.session} />;
  switch (props.path) {
    case "/cases":
      return <CasesSection session={props.session} />;
    case "/uploads":
      return <UploadsPage session={props.session} />;
    case "/captures":
      return <CapturesPage session={props.session} />;
    case "/share":
      return <SharePage session={props.session} />;
    case "/requests":
      return <RequestsPage session={props.session} />;
    case "/cameras":
      return <CamerasPage session={props.session} />;
    case "/admin/sites":
      return isAdmin ? <SitesPage /> : <NoAccessPage />;
    case "/admin/retention":
      return isAdmin ? <RetentionPage /> : <NoAccessPage />;
    case "/audit":
      return isAdmin ? <AuditPage session={props.session} /> : <NoAccessPage />;
    case "/settings/security":
      return <SecurityPage />;
    case "/admin/settings":
      return isAdmin ? <SettingsPage /> : <NoAccessPage />;
    case "/settings/keys":
      return <KeySettingsPage session={props.session} />;
    case "/admin/sign-in":
      return isAdmin ? <IdentityProviderPage /> : <NoAccessPage />;
    case "/admin/users":
      return isAdmin ? <UsersPage me={props.session.user} /> : <NoAccessPage />;
    default:
      return <NotFoundPage />;
  }
}

/** A site operator reaches their requests inbox, their site's cameras and their own security settings. */
function OperatorPage(props: { path: string; session: SessionInfo }) {
  switch (props.path) {
    case "/requests":
      return <RequestsPage session={props.session} />;
    case "/cameras":
      return <CamerasPage session={props.session} />;
    case "/settings/security":
      return <SecurityPage />;
    case "/cases":
    case "/uploads":
    case "/captures":
    case "/share":
    case "/settings/keys":
      return <NoAccessPage />;
    default:
      return <NotFoundPage />;
  }
}

/** A guest reaches what is shared with them, and their own security and key settings: nothing else. */
function GuestPage(props: { path: string; session: SessionInfo }) {
  const search = new URLSearchParams(useSearch());
  const { keys } = useDeviceKeys();
  switch (props.path) {
    case "/shared":
      return <SharedPage session={props.session} keys={keys} shareId={search.get("share")} />;
    case "/settings/security":
      return <SecurityPage />;
    case "/settings/keys":
      return <KeySettingsPage session={props.session} />;
    default:
      return (
        <>
          <PageHeading>Not available to guests</PageHeading>
          <p>
            As a guest you see only what is shared with you: <a href="/shared">Shared with me</a>.
          </p>
        </>
      );
  }
}

/** /cases: the list; `?case=…`, one case; `?case=…&evidence=…`, one evidence item (addresses from `caseHref`). */
function CasesSection(props: { session: SessionInfo }) {
  const search = new URLSearchParams(useSearch());
  const { keys } = useDeviceKeys();
  const caseId = search.get("case");
  const evidenceId = search.get("evidence");
  const wide = useWideScreen();
  if (caseId && evidenceId) return <EvidencePage key={evidenceId} caseId={caseId} evidenceId={evidenceId} session={props.session} keys={keys} />;
  if (caseId && wide) {
    // From 1024 px: the list stays beside the open case.
    return (
      <div class="two-columns">
        <div class="list-column">
          <CaseListPage session={props.session} />
        </div>
        <div class="item-column">
          <CasePage key={caseId} caseId={caseId} session={props.session} keys={keys} />
        </div>
      </div>
    );
  }
  if (caseId) return <CasePage key={caseId} caseId={caseId} session={props.session} keys={keys} />;
  return <CaseListPage session={props.session} />;
}

/** True while the window is at least `px` wide (follows resizing). */
function useWideScreen(px = 1024): boolean {
  const query = `(min-width: ${px}px)`;
  const [wide, setWide] = useState(() => matchMedia(query).matches);
  useEffect(() => {
    const list = matchMedia(query);
    const update = () => setWide(list.matches);
    list.addEventListener("change", update);
    update();
    return () => list.removeEventListener("change", update);
  }, [query]);
  return wide;
}
