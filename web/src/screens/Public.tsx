/** The frame of the screens shown before sign-in: the app's name, then one card. */
import type { ComponentChildren } from "preact";
import { Mark } from "../icons";

export function PublicLayout(props: { children: ComponentChildren }) {
  return (
    <div class="public">
      <header class="public-header">
        <Mark size={32} />
        <span class="brand">Custody</span>
      </header>
      <main id="main" class="card">
        {props.children}
      </main>
    </div>
  );
}
