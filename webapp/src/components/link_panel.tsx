import React, { useCallback, useEffect, useRef, useState } from "react";
import { useSelector, useStore } from "react-redux";

import {
  disconnect,
  fetchStatus,
  selectPluginState,
  selectSiteUrl,
} from "../state";
import type { PluginState, StoreLike } from "../state";
import { PluginStyles, rootClass, themeFallbackStyle } from "./theme";
import type { Theme } from "./theme";

// Name and size of the consent popup. Reusing the name brings an open popup
// to the front instead of opening a second one.
const popupName = "pagerduty-connect";
const popupFeatures = "width=600,height=700";

// How often the panel checks whether the consent popup was closed.
export const popupPollMs = 500;

interface LinkPanelProps {
  theme?: Theme;
}

// Right-hand sidebar panel that shows the user's PagerDuty link and offers
// Connect or Disconnect.
export function LinkPanel({ theme }: LinkPanelProps) {
  const store = useStore() as StoreLike;
  const pluginState = useSelector(selectPluginState);
  const siteUrl = useSelector(selectSiteUrl);
  const { status, loading, error } = pluginState;

  useEffect(() => {
    if (status === null && !loading) {
      void fetchStatus(store);
    }
    // Fetch once on mount. Later updates come from WebSocket events, the
    // reconnect handler and the popup watcher.
  }, []);

  let body: React.ReactNode;
  if (status === null) {
    body =
      error === null ? (
        <p role="status">Loading PagerDuty status…</p>
      ) : (
        <>
          <p role="alert" className="pd-error">
            Could not load the PagerDuty status: {error}
          </p>
          <button
            type="button"
            className="pd-button pd-secondary"
            onClick={() => void fetchStatus(store)}
          >
            Try again
          </button>
        </>
      );
  } else if (!status.configured) {
    body = (
      <p>
        PagerDuty is not configured on this server yet. Ask a system admin to
        set it up.
      </p>
    );
  } else {
    body = (
      <LinkDetails
        pluginState={pluginState}
        store={store}
        connectUrl={`${siteUrl.replace(/\/+$/, "")}${status.connect_path}`}
      />
    );
  }

  return (
    <section
      className={rootClass}
      style={{ ...themeFallbackStyle(theme), padding: "16px" }}
      aria-labelledby="pagerduty-panel-title"
    >
      <PluginStyles />
      <h2
        id="pagerduty-panel-title"
        style={{ fontSize: "16px", margin: "0 0 12px" }}
      >
        PagerDuty account
      </h2>
      {body}
    </section>
  );
}

interface LinkDetailsProps {
  pluginState: PluginState;
  store: StoreLike;
  connectUrl: string;
}

function LinkDetails({ pluginState, store, connectUrl }: LinkDetailsProps) {
  const { status, disconnecting, disconnectError } = pluginState;
  const linked = status?.linked ?? false;
  const actionRef = useRef<HTMLButtonElement>(null);
  const popupRef = useRef<Window | null>(null);
  const [waiting, setWaiting] = useState(false);
  const [popupBlocked, setPopupBlocked] = useState(false);

  // The action button changes from Connect to Disconnect and back. When the
  // button that had focus is gone, focus its replacement so that keyboard
  // users keep their place. Chromium may still report the removed button as
  // the active element until its next rendering update.
  useEffect(() => {
    const active = document.activeElement;
    if (active === null || active === document.body || !active.isConnected) {
      actionRef.current?.focus();
    }
  }, [linked]);

  // Watch the popup while it is open. The result page closes itself, and the
  // status is read again then in case the WebSocket event was missed.
  useEffect(() => {
    if (!waiting) {
      return undefined;
    }
    const timer = window.setInterval(() => {
      if (popupRef.current === null || popupRef.current.closed) {
        popupRef.current = null;
        setWaiting(false);
        void fetchStatus(store);
      }
    }, popupPollMs);

    return () => window.clearInterval(timer);
  }, [waiting, store]);

  useEffect(() => {
    if (linked) {
      setPopupBlocked(false);
    }
  }, [linked]);

  const openConsent = useCallback(() => {
    const popup = window.open(connectUrl, popupName, popupFeatures);
    if (popup === null) {
      setPopupBlocked(true);
      return;
    }
    setPopupBlocked(false);
    popupRef.current = popup;
    setWaiting(true);
  }, [connectUrl]);

  if (status === null) {
    return null;
  }

  if (!linked) {
    return (
      <>
        <p>
          <span className="pd-badge pd-badge-off" aria-hidden="true" />
          Your Mattermost account is not linked to PagerDuty.
        </p>
        <button
          ref={actionRef}
          type="button"
          className="pd-button pd-primary"
          onClick={openConsent}
        >
          Connect
        </button>
        {waiting && (
          <p role="status" className="pd-muted">
            Waiting for PagerDuty. Finish in the window that opened.
          </p>
        )}
        {popupBlocked && (
          <p role="alert">
            The browser blocked the PagerDuty window.{" "}
            <a href={connectUrl} target="_blank" rel="noopener noreferrer">
              Open the PagerDuty consent page
            </a>{" "}
            in a new tab instead.
          </p>
        )}
      </>
    );
  }

  return (
    <>
      <p>
        <span className="pd-badge" aria-hidden="true" />
        Linked to PagerDuty.
      </p>
      <dl>
        <dt>Name</dt>
        <dd>{status.name ?? "Unknown"}</dd>
        <dt>Email</dt>
        <dd>{status.email ?? "Unknown"}</dd>
        <dt>Account</dt>
        <dd>
          {status.html_url !== undefined ? (
            <a href={status.html_url} target="_blank" rel="noopener noreferrer">
              {status.account ?? status.html_url}
            </a>
          ) : (
            (status.account ?? "Unknown")
          )}
        </dd>
      </dl>
      <button
        ref={actionRef}
        type="button"
        className="pd-button pd-danger"
        disabled={disconnecting}
        onClick={() => void disconnect(store)}
      >
        {disconnecting ? "Disconnecting…" : "Disconnect"}
      </button>
      {disconnectError !== null && (
        <p role="alert" className="pd-error">
          Could not disconnect: {disconnectError}
        </p>
      )}
    </>
  );
}
