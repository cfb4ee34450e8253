// @vitest-environment jsdom
import { afterEach, describe, expect, it, vi } from "vitest";

import { pluginUrl, readCsrfToken } from "../src/client";
import type { LinkStatus } from "../src/client";
import {
  ActionTypes,
  disconnect,
  fetchStatus,
  initialState,
  parseLinkChanged,
  reducer,
  selectPluginState,
  selectSiteUrl,
} from "../src/state";
import {
  createTestStore,
  requestHeaders,
  siteUrl,
  stubFetch,
} from "./test_store";

const connectPath = "/plugins/mattermost-pagerduty/oauth/connect";

const linkedStatus: LinkStatus = {
  configured: true,
  linked: true,
  name: "Ada Lovelace",
  email: "ada@example.com",
  account: "acme",
  html_url: "https://acme.pagerduty.com/users/P1",
  connect_path: connectPath,
};

afterEach(() => {
  vi.unstubAllGlobals();
  document.cookie = "MMCSRF=; expires=Thu, 01 Jan 1970 00:00:00 GMT";
});

describe("reducer", () => {
  it("stores a received status", () => {
    const state = reducer(initialState, {
      type: ActionTypes.statusReceived,
      status: linkedStatus,
      linkVersion: 0,
    });

    expect(state.status).toEqual(linkedStatus);
    expect(state.loading).toBe(false);
  });

  it("link event sets identity", () => {
    const state = reducer(initialState, {
      type: ActionTypes.linkChanged,
      data: { linked: true, name: "Ada", account: "acme" },
    });

    expect(state.status?.linked).toBe(true);
    expect(state.status?.configured).toBe(true);
    expect(state.status?.name).toBe("Ada");
    expect(state.status?.account).toBe("acme");
    expect(state.status?.connect_path).toBe(connectPath);
  });

  it("unlink event clears identity", () => {
    const linked = reducer(initialState, {
      type: ActionTypes.statusReceived,
      status: linkedStatus,
      linkVersion: 0,
    });

    const state = reducer(linked, {
      type: ActionTypes.linkChanged,
      data: { linked: false },
    });

    expect(state.status).toEqual({
      configured: true,
      linked: false,
      name: undefined,
      email: undefined,
      account: undefined,
      html_url: undefined,
      connect_path: connectPath,
    });
  });

  it("ignores status older than a link event", () => {
    const requested = reducer(initialState, {
      type: ActionTypes.statusRequested,
    });
    const changed = reducer(requested, {
      type: ActionTypes.linkChanged,
      data: { linked: true, name: "Ada" },
    });

    const state = reducer(changed, {
      type: ActionTypes.statusReceived,
      status: { configured: true, linked: false, connect_path: connectPath },
      linkVersion: requested.linkVersion,
    });

    expect(state.status?.linked).toBe(true);
    expect(state.loading).toBe(false);
  });

  it("stores a status failure", () => {
    const state = reducer(initialState, {
      type: ActionTypes.statusFailed,
      error: "boom",
    });

    expect(state.error).toBe("boom");
    expect(state.loading).toBe(false);
  });

  it("disconnect success unlinks", () => {
    const linked = reducer(initialState, {
      type: ActionTypes.statusReceived,
      status: linkedStatus,
      linkVersion: 0,
    });
    const requested = reducer(linked, {
      type: ActionTypes.disconnectRequested,
    });

    const state = reducer(requested, {
      type: ActionTypes.disconnectSucceeded,
    });

    expect(requested.disconnecting).toBe(true);
    expect(state.disconnecting).toBe(false);
    expect(state.status?.linked).toBe(false);
    expect(state.status?.name).toBeUndefined();
  });

  it("ignores foreign actions", () => {
    expect(reducer(initialState, { type: "OTHER" })).toBe(initialState);
  });
});

describe("parseLinkChanged", () => {
  it.each([null, "linked", {}, { linked: "true" }])("rejects %j", (data) => {
    expect(parseLinkChanged(data)).toBeNull();
  });

  it("drops empty and non-string fields", () => {
    expect(
      parseLinkChanged({ linked: true, name: "", email: 3, account: "acme" }),
    ).toEqual({
      linked: true,
      name: undefined,
      email: undefined,
      account: "acme",
      html_url: undefined,
    });
  });
});

describe("selectors", () => {
  it("selectPluginState defaults before the reducer runs", () => {
    expect(selectPluginState({})).toBe(initialState);
  });

  it("selectSiteUrl falls back to the origin", () => {
    expect(selectSiteUrl({ entities: { general: { config: {} } } })).toBe(
      window.location.origin,
    );
  });
});

describe("client helpers", () => {
  it("readCsrfToken finds the cookie", () => {
    expect(readCsrfToken("a=1; MMCSRF=tok%3Den; b=2")).toBe("tok=en");
  });

  it("readCsrfToken without the cookie", () => {
    expect(readCsrfToken("a=1")).toBe("");
  });

  it("pluginUrl keeps a subpath", () => {
    expect(pluginUrl("https://chat.test/team/", "/api/v1/status")).toBe(
      "https://chat.test/team/plugins/mattermost-pagerduty/api/v1/status",
    );
  });
});

describe("fetchStatus", () => {
  it("sends the session request headers", async () => {
    const fetchMock = stubFetch(() => ({ body: linkedStatus }));
    const store = createTestStore();

    await fetchStatus(store);

    const init = fetchMock.mock.calls[0][1];
    expect(fetchMock.mock.calls[0][0] as string).toBe(
      `${siteUrl}/plugins/mattermost-pagerduty/api/v1/status`,
    );
    expect(init?.credentials).toBe("same-origin");
    expect(requestHeaders(fetchMock, 0).get("X-Requested-With")).toBe(
      "XMLHttpRequest",
    );
    expect(selectPluginState(store.getState()).status).toEqual(linkedStatus);
  });

  it("stores the server error message", async () => {
    stubFetch(() => ({ status: 401, body: { error: "session expired" } }));
    const store = createTestStore();

    await fetchStatus(store);

    expect(selectPluginState(store.getState()).error).toBe("session expired");
  });

  it("stores an error for a non-JSON failure", async () => {
    vi.stubGlobal(
      "fetch",
      vi.fn(() =>
        Promise.resolve(new Response("bad gateway", { status: 502 })),
      ),
    );
    const store = createTestStore();

    await fetchStatus(store);

    expect(selectPluginState(store.getState()).error).toContain("HTTP 502");
  });

  it("stores a network error", async () => {
    vi.stubGlobal(
      "fetch",
      vi.fn(() => Promise.reject(new TypeError("Failed to fetch"))),
    );
    const store = createTestStore();

    await fetchStatus(store);

    expect(selectPluginState(store.getState()).error).toBe("Failed to fetch");
  });
});

describe("disconnect", () => {
  it("posts with the CSRF token", async () => {
    document.cookie = "MMCSRF=csrf-123";
    const fetchMock = stubFetch(() => ({
      body: { linked: false, removed: true },
    }));
    const store = createTestStore();
    store.dispatch({
      type: ActionTypes.statusReceived,
      status: linkedStatus,
      linkVersion: 0,
    });

    await disconnect(store);

    expect(fetchMock.mock.calls[0][1]?.method).toBe("POST");
    expect(fetchMock.mock.calls[0][0] as string).toBe(
      `${siteUrl}/plugins/mattermost-pagerduty/api/v1/disconnect`,
    );
    expect(requestHeaders(fetchMock, 0).get("X-CSRF-Token")).toBe("csrf-123");
    expect(requestHeaders(fetchMock, 0).get("X-Requested-With")).toBe(
      "XMLHttpRequest",
    );
    expect(selectPluginState(store.getState()).status?.linked).toBe(false);
  });

  it("stores a failure and keeps the link", async () => {
    stubFetch(() => ({ status: 500, body: { error: "store unavailable" } }));
    const store = createTestStore();
    store.dispatch({
      type: ActionTypes.statusReceived,
      status: linkedStatus,
      linkVersion: 0,
    });

    await disconnect(store);

    const state = selectPluginState(store.getState());
    expect(state.disconnectError).toBe("store unavailable");
    expect(state.status?.linked).toBe(true);
  });
});
