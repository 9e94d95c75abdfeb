/** The frame of the screens shown before the app: the app's name (and an optional control beside it), then one card. */
import type { ComponentChildren } from "preact";
import { Mark } from "./icons";

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
