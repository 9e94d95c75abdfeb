/** Small line icons for the navigation; decorative, so hidden from assistive technology. */
import type { JSX } from "preact";

function Icon(props: { children: JSX.Element | JSX.Element[] }) {
  return (
    <svg
      class="icon"
      viewBox="0 0 24 24"
      width="24"
      height="24"
      fill="none"
      stroke="currentColor"
      stroke-width="2"
      stroke-linecap="round"
      stroke-linejoin="round"
      aria-hidden="true"
      focusable="false"
    >
      {props.children}
    </svg>
  );
}

export const icons = {
  uploads: () => (
    <Icon>
      <path d="M12 16V4M7 9l5-5 5 5" />
      <path d="M4 16v3a1 1 0 0 0 1 1h14a1 1 0 0 0 1-1v-3" />
    </Icon>
  ),
  cases: () => (
    <Icon>
      <path d="M3 7a2 2 0 0 1 2-2h4l2 2h8a2 2 0 0 1 2 2v8a2 2 0 0 1-2 2H5a2 2 0 0 1-2-2Z" />
    </Icon>
  ),
  requests: () => (
    <Icon>
      <path d="M4 4h16v12H8l-4 4Z" />
      <path d="M8 9h8M8 12h5" />
    </Icon>
  ),
  cameras: () => (
    <Icon>
      <path d="M3 8a2 2 0 0 1 2-2h9a2 2 0 0 1 2 2v8a2 2 0 0 1-2 2H5a2 2 0 0 1-2-2Z" />
      <path d="m16 10 5-3v10l-5-3" />
    </Icon>
  ),
  audit: () => (
    <Icon>
      <path d="M9 4h6l1 2h3v14H5V6h3Z" />
      <path d="m9 13 2 2 4-4" />
    </Icon>
  ),
  admin: () => (
    <Icon>
      <circle cx="9" cy="8" r="3.5" />
      <path d="M3 20a6 6 0 0 1 12 0" />
      <path d="M16 5.5a3.5 3.5 0 0 1 0 6.5M18 14.5a6 6 0 0 1 3 5.5" />
    </Icon>
  ),
};

export function Mark(props: { size?: number }) {
  const size = props.size ?? 28;
  return (
    <svg class="mark" viewBox="0 0 512 512" width={size} height={size} aria-hidden="true" focusable="false">
      <path fill="currentColor" d="M256 24 452 92v148c0 132-86 214-196 256C146 454 60 372 60 240V92Z" />
      <path fill="none" stroke="var(--mark-contrast)" stroke-width="30" d="M204 236v-46a52 52 0 0 1 104 0v46" />
      <rect x="168" y="228" width="176" height="140" rx="22" fill="var(--mark-contrast)" />
    </svg>
  );
}
