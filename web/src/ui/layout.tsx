/** The frames of every screen: the public layout (before the app) and the page heading (inside it). */
import type { ComponentChildren } from "preact";
import { useEffect, useRef } from "preact/hooks";
import { Mark } from "./icons";
import { hasNavigated } from "./router";

/** The frame of the screens shown before the app: the app's name (and an optional control beside it), then one card. */
export function PublicLayout(props: { children: ComponentChildren; headerEnd?: ComponentChildren }) {
  return (
    <div class="public">
      <header class="public-header">
        <Mark size={32} />
        <span class="brand">Custody</span>
        {props.headerEnd && <div class="public-header-end">{props.headerEnd}</div>}
      </header>
      <main id="main" class="card">
        {props.children}
      </main>
    </div>
  );
}

/** The page's <h1>. It takes focus after an in-app navigation so screen readers announce the new page. */
export function PageHeading(props: { children: string }) {
  const ref = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    document.title = `${props.children} · Custody`;
    // Only after a navigation inside the app, not on first load.
    if (hasNavigated()) ref.current?.focus();
  }, [props.children]);
  return (
    <h1 id="page-heading" ref={ref} tabIndex={-1}>
      {props.children}
    </h1>
  );
}
