import React from "react";

// Fields of the Mattermost theme object that these components read. The web
// app passes the whole theme as the `theme` prop of plugin components.
export interface Theme {
  centerChannelBg?: string;
  centerChannelColor?: string;
  buttonBg?: string;
  buttonColor?: string;
  errorTextColor?: string;
  linkColor?: string;
  onlineIndicator?: string;
}

// Class name on the root element of every component of this plugin. The
// style sheet below applies only inside it.
export const rootClass = "pagerduty-plugin";

// Custom properties from the `theme` prop, used where the page lacks the CSS
// variables that the web app sets on the document root for the current theme.
export function themeFallbackStyle(theme?: Theme): React.CSSProperties {
  const style: Record<string, string> = {};
  const entries: [string, string | undefined][] = [
    ["--pd-bg", theme?.centerChannelBg],
    ["--pd-fg", theme?.centerChannelColor],
    ["--pd-button-bg", theme?.buttonBg],
    ["--pd-button-fg", theme?.buttonColor],
    ["--pd-error", theme?.errorTextColor],
    ["--pd-link", theme?.linkColor],
    ["--pd-online", theme?.onlineIndicator],
  ];
  for (const [name, value] of entries) {
    if (value !== undefined) {
      style[name] = value;
    }
  }

  return style;
}

const fg = "var(--center-channel-color, var(--pd-fg, #3f4350))";
const bg = "var(--center-channel-bg, var(--pd-bg, #ffffff))";
const buttonBg = "var(--button-bg, var(--pd-button-bg, #1c58d9))";
const buttonFg = "var(--button-color, var(--pd-button-fg, #ffffff))";
const errorColor = "var(--error-text, var(--pd-error, #d24b4e))";
const linkColor = "var(--link-color, var(--pd-link, #386fe5))";
const onlineColor = "var(--online-indicator, var(--pd-online, #06d6a0))";

const css = `
.${rootClass} { color: ${fg}; background: ${bg}; font-size: 14px; line-height: 20px; }
.${rootClass} a { color: ${linkColor}; }
.${rootClass} .pd-muted { opacity: 0.72; }
.${rootClass} .pd-error { color: ${errorColor}; }
.${rootClass} .pd-button { font: inherit; font-weight: 600; border-radius: 4px; padding: 8px 16px; cursor: pointer; border: 1px solid ${buttonBg}; }
.${rootClass} .pd-button:disabled { cursor: default; opacity: 0.6; }
.${rootClass} .pd-primary { background: ${buttonBg}; color: ${buttonFg}; }
.${rootClass} .pd-secondary { background: transparent; color: ${buttonBg}; }
.${rootClass} .pd-danger { background: transparent; color: ${errorColor}; border-color: ${errorColor}; }
.${rootClass} .pd-button:focus-visible, .${rootClass} a:focus-visible, .${rootClass} input:focus-visible { outline: 2px solid ${buttonBg}; outline-offset: 2px; }
.${rootClass} .pd-badge { display: inline-block; width: 8px; height: 8px; border-radius: 50%; margin-right: 6px; background: ${onlineColor}; }
.${rootClass} .pd-badge-off { background: transparent; border: 1px solid ${fg}; box-sizing: border-box; }
.${rootClass} dl { display: grid; grid-template-columns: max-content 1fr; gap: 4px 12px; margin: 12px 0; }
.${rootClass} dt { font-weight: 600; }
.${rootClass} dd { margin: 0; overflow-wrap: anywhere; }
.${rootClass} .pd-uri { font-family: monospace; color: ${fg}; background: transparent; border: 1px solid ${fg}; border-radius: 4px; padding: 6px 8px; flex: 1; min-width: 0; }
.${rootClass} .pd-row { display: flex; gap: 8px; align-items: center; }
`;

// Style sheet of the plugin's components. Every rule is scoped to
// `rootClass`, so rendering it more than once is harmless.
export function PluginStyles() {
  return <style>{css}</style>;
}
