import React, { useEffect, useRef, useState } from "react";
import { useSelector } from "react-redux";

import { getAdminStatus } from "../client";
import type { AdminStatus } from "../client";
import { selectSiteUrl } from "../state";
import { PluginStyles, rootClass, themeFallbackStyle } from "./theme";
import type { Theme } from "./theme";

// Props that the System Console passes to a custom setting component. Only
// the ones read here are listed.
interface RedirectUriSettingProps {
  id?: string;
  // The saved plugin configuration, replaced by the console after each save.
  config?: unknown;
  theme?: Theme;
}

type LoadState =
  | { kind: "loading" }
  | { kind: "failed"; error: string }
  | { kind: "loaded"; status: AdminStatus };

// How long the "Copied" confirmation stays visible, in milliseconds.
const copiedMessageMs = 3000;

// Copies text with the Clipboard API, or with a selected input and
// `execCommand("copy")` where that API is missing (pages served over HTTP).
async function copyText(text: string, input: HTMLInputElement | null) {
  if (navigator.clipboard !== undefined && window.isSecureContext) {
    await navigator.clipboard.writeText(text);
    return;
  }
  if (input === null || !document.execCommand("copy")) {
    input?.select();
    throw new Error("copy is not supported");
  }
}

// System Console setting that shows the OAuth redirect URI to register in
// PagerDuty and whether the plugin configuration is complete.
export function RedirectUriSetting({
  id,
  config,
  theme,
}: RedirectUriSettingProps) {
  const siteUrl = useSelector(selectSiteUrl);
  const [load, setLoad] = useState<LoadState>({ kind: "loading" });
  const [copyMessage, setCopyMessage] = useState("");
  const inputRef = useRef<HTMLInputElement>(null);

  // Read the status again after each save, which replaces `config`.
  useEffect(() => {
    let cancelled = false;
    getAdminStatus(siteUrl).then(
      (status) => {
        if (!cancelled) {
          setLoad({ kind: "loaded", status });
        }
      },
      (error: unknown) => {
        if (!cancelled) {
          setLoad({
            kind: "failed",
            error: error instanceof Error ? error.message : String(error),
          });
        }
      },
    );

    return () => {
      cancelled = true;
    };
  }, [siteUrl, config]);

  useEffect(() => {
    if (copyMessage === "") {
      return undefined;
    }
    const timer = window.setTimeout(() => setCopyMessage(""), copiedMessageMs);

    return () => window.clearTimeout(timer);
  }, [copyMessage]);

  const inputId = `${id ?? "RedirectURI"}-value`;

  if (load.kind === "loading") {
    return (
      <div className={rootClass} style={themeFallbackStyle(theme)}>
        <p role="status">Loading the PagerDuty configuration status…</p>
      </div>
    );
  }

  if (load.kind === "failed") {
    return (
      <div className={rootClass} style={themeFallbackStyle(theme)}>
        <PluginStyles />
        <p role="alert" className="pd-error">
          Could not load the PagerDuty configuration status: {load.error}
        </p>
      </div>
    );
  }

  const { status } = load;
  const redirectUri = status.redirect_uri;

  const onCopy = () => {
    if (redirectUri === null) {
      return;
    }
    copyText(redirectUri, inputRef.current).then(
      () => setCopyMessage("Copied the redirect URI."),
      () => setCopyMessage("Copy failed. Select the URI and copy it by hand."),
    );
  };

  return (
    <div className={rootClass} style={themeFallbackStyle(theme)}>
      <PluginStyles />
      {redirectUri !== null ? (
        <div className="pd-row">
          <input
            ref={inputRef}
            id={inputId}
            className="pd-uri"
            type="text"
            readOnly
            value={redirectUri}
            aria-label="OAuth redirect URI"
            onFocus={(event) => event.currentTarget.select()}
          />
          <button
            type="button"
            className="pd-button pd-secondary"
            onClick={onCopy}
          >
            Copy
          </button>
        </div>
      ) : (
        <p className="pd-error">
          The redirect URI is unknown because the Site URL is not set. Set it in
          System Console &gt; Environment &gt; Web Server, then reload this
          page.
        </p>
      )}
      <p role="status" aria-live="polite" className="pd-muted">
        {copyMessage}
      </p>
      <p>
        Paste this URI as the redirect URL of the OAuth app in PagerDuty
        (Integrations &gt; App Registration).
      </p>
      <p>
        <span
          className={status.configured ? "pd-badge" : "pd-badge pd-badge-off"}
          aria-hidden="true"
        />
        {status.configured
          ? "Configuration saved. Users can connect their PagerDuty accounts."
          : status.has_credentials
            ? "Client ID and Client Secret are saved, but the configuration is incomplete."
            : "Not configured. Save the Client ID and Client Secret below."}
      </p>
      {status.problems.length > 0 && (
        <ul className="pd-error">
          {status.problems.map((problem) => (
            <li key={problem}>{problem}</li>
          ))}
        </ul>
      )}
    </div>
  );
}
