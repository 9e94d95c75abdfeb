/**
 * The one place a message to a person outside would be sent (an invitation, a share notice). No
 * mail transport is wired yet: it sends nothing and says so, and the app shows the link to copy
 * (docs/disclosure.md §6). Wiring email in means one call here.
 */
export interface Notice {
  to: string;
  subject: string;
  /** Plain text; never a link secret (link shares' URLs are composed in the sharer's browser only). */
  text: string;
}

/** Sends `notice` where mail is configured; returns whether it was sent. */
export async function sendNotice(_env: Env, _notice: Notice): Promise<boolean> {
  return false;
}
