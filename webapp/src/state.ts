import type { Dispatch } from "redux";

import type { LinkStatus } from "./client";
import { getStatus, postDisconnect } from "./client";
import { pluginId } from "./manifest";

// Data of the `custom_mattermost-pagerduty_link_changed` WebSocket event.
export interface LinkChangedData {
  linked: boolean;
  name?: string;
  email?: string;
  account?: string;
  html_url?: string;
}

export interface PluginState {
  // Last known status, or null before the first response.
  status: LinkStatus | null;
  loading: boolean;
  // Message of the last failed status request, cleared by the next success.
  error: string | null;
  disconnecting: boolean;
  disconnectError: string | null;
  // Counts link changes seen from WebSocket events and disconnects, so that a
  // status response requested before a change cannot overwrite it.
  linkVersion: number;
}

export const initialState: PluginState = {
  status: null,
  loading: false,
  error: null,
  disconnecting: false,
  disconnectError: null,
  linkVersion: 0,
};

export const ActionTypes = {
  statusRequested: `${pluginId}/status_requested`,
  statusReceived: `${pluginId}/status_received`,
  statusFailed: `${pluginId}/status_failed`,
  linkChanged: `${pluginId}/link_changed`,
  disconnectRequested: `${pluginId}/disconnect_requested`,
  disconnectSucceeded: `${pluginId}/disconnect_succeeded`,
  disconnectFailed: `${pluginId}/disconnect_failed`,
} as const;

export type PluginAction =
  | { type: typeof ActionTypes.statusRequested }
  | {
      type: typeof ActionTypes.statusReceived;
      status: LinkStatus;
      linkVersion: number;
    }
  | { type: typeof ActionTypes.statusFailed; error: string }
  | { type: typeof ActionTypes.linkChanged; data: LinkChangedData }
  | { type: typeof ActionTypes.disconnectRequested }
  | { type: typeof ActionTypes.disconnectSucceeded }
  | { type: typeof ActionTypes.disconnectFailed; error: string };

// Default route of the consent page, used until the server sends its own.
const defaultConnectPath = `/plugins/${pluginId}/oauth/connect`;

function applyLinkChange(
  status: LinkStatus | null,
  data: LinkChangedData,
): LinkStatus {
  // A link exists only with a saved configuration, so `linked: true` implies
  // `configured: true`. An unlink leaves the configuration as it was.
  const configured = data.linked || (status?.configured ?? false);

  return {
    configured,
    linked: data.linked,
    name: data.linked ? data.name : undefined,
    email: data.linked ? data.email : undefined,
    account: data.linked ? data.account : undefined,
    html_url: data.linked ? data.html_url : undefined,
    connect_path: status?.connect_path ?? defaultConnectPath,
  };
}

export function reducer(
  state: PluginState = initialState,
  action: PluginAction | { type: string },
): PluginState {
  const typed = action as PluginAction;
  switch (typed.type) {
    case ActionTypes.statusRequested:
      return { ...state, loading: true };
    case ActionTypes.statusReceived:
      if (typed.linkVersion !== state.linkVersion) {
        // The link changed while the request was in flight, so this
        // response is older than what the state shows.
        return { ...state, loading: false, error: null };
      }
      return { ...state, status: typed.status, loading: false, error: null };
    case ActionTypes.statusFailed:
      return { ...state, loading: false, error: typed.error };
    case ActionTypes.linkChanged:
      return {
        ...state,
        status: applyLinkChange(state.status, typed.data),
        linkVersion: state.linkVersion + 1,
      };
    case ActionTypes.disconnectRequested:
      return { ...state, disconnecting: true, disconnectError: null };
    case ActionTypes.disconnectSucceeded:
      return {
        ...state,
        status: applyLinkChange(state.status, { linked: false }),
        disconnecting: false,
        linkVersion: state.linkVersion + 1,
      };
    case ActionTypes.disconnectFailed:
      return { ...state, disconnecting: false, disconnectError: typed.error };
    default:
      return state;
  }
}

// The web app stores a plugin reducer's state under `plugins-<plugin id>`.
export const stateKey = `plugins-${pluginId}`;

export function selectPluginState(state: unknown): PluginState {
  const pluginState = (state as Record<string, PluginState | undefined>)[
    stateKey
  ];

  return pluginState ?? initialState;
}

// Returns the site URL from the web app's client config, or the page origin
// when the config has none (SiteURL is empty on an unconfigured server).
export function selectSiteUrl(state: unknown): string {
  const siteUrl = (
    state as {
      entities?: { general?: { config?: { SiteURL?: unknown } } };
    }
  ).entities?.general?.config?.SiteURL;

  if (typeof siteUrl === "string" && siteUrl !== "") {
    return siteUrl;
  }

  return window.location.origin;
}

// Store methods that the async actions need. The web app's store and the
// one that `useStore` returns both fit.
export interface StoreLike {
  dispatch: Dispatch;
  getState(): unknown;
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

// Fetches the link status and stores it. Resolves after the state is
// updated and never rejects, because failures are stored as `error`.
export async function fetchStatus(store: StoreLike): Promise<void> {
  const state = store.getState();
  const { linkVersion } = selectPluginState(state);
  store.dispatch({ type: ActionTypes.statusRequested });

  try {
    const status = await getStatus(selectSiteUrl(state));
    store.dispatch({ type: ActionTypes.statusReceived, status, linkVersion });
  } catch (error) {
    store.dispatch({
      type: ActionTypes.statusFailed,
      error: errorMessage(error),
    });
  }
}

// Removes the link of the current user. Failures are stored as
// `disconnectError`, so the returned promise never rejects.
export async function disconnect(store: StoreLike): Promise<void> {
  store.dispatch({ type: ActionTypes.disconnectRequested });

  try {
    await postDisconnect(selectSiteUrl(store.getState()));
    store.dispatch({ type: ActionTypes.disconnectSucceeded });
  } catch (error) {
    store.dispatch({
      type: ActionTypes.disconnectFailed,
      error: errorMessage(error),
    });
  }
}

// Returns a LinkChangedData from WebSocket event data, or null when the data
// lacks a boolean `linked`.
export function parseLinkChanged(data: unknown): LinkChangedData | null {
  if (typeof data !== "object" || data === null) {
    return null;
  }
  const record = data as Record<string, unknown>;
  if (typeof record.linked !== "boolean") {
    return null;
  }

  const text = (value: unknown) =>
    typeof value === "string" && value !== "" ? value : undefined;

  return {
    linked: record.linked,
    name: text(record.name),
    email: text(record.email),
    account: text(record.account),
    html_url: text(record.html_url),
  };
}
