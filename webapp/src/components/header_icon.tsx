import React from "react";

// Icon of the channel header button: the plugin's PagerDuty "P" mark, drawn
// in the header's icon color. The button's tooltip names it, so the icon
// itself is hidden from assistive technology.
export function HeaderIcon() {
  return (
    <svg
      width="16"
      height="16"
      viewBox="0 0 64 64"
      aria-hidden="true"
      focusable="false"
      style={{ verticalAlign: "middle" }}
    >
      <path
        fill="currentColor"
        fillRule="evenodd"
        d="M19 12h16a13 13 0 0 1 0 26h-5v14H19zM30 21v8h4a4 4 0 0 0 0-8z"
      />
    </svg>
  );
}
