/** Pages whose features arrive in a later release: a heading and one honest line. */
import { PageHeading } from "./layout";

export function PlaceholderPage(props: { title: string; line: string }) {
  return (
    <>
      <PageHeading>{props.title}</PageHeading>
      <p class="placeholder">{props.line}</p>
    </>
  );
}

export function NotFoundPage() {
  return (
    <>
      <PageHeading>Page not found</PageHeading>
      <p>
        There is no page at this address. Go to <a href="/cases">Cases</a> or pick a section from the menu.
      </p>
    </>
  );
}

export function NoAccessPage() {
  return (
    <>
      <PageHeading>Administrators only</PageHeading>
      <p>Only administrators can open this page. If you need it, ask an administrator in your organisation.</p>
    </>
  );
}
