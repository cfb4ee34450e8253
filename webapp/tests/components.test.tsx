// @vitest-environment jsdom
import {
  act,
  cleanup,
  fireEvent,
  render,
  screen,
} from "@testing-library/react";
import React from "react";
import { Provider } from "react-redux";
import { afterEach, describe, expect, it, vi } from "vitest";

import type { AdminStatus, LinkStatus } from "../src/client";
import { LinkPanel, popupPollMs } from "../src/components/link_panel";
import { RedirectUriSetting } from "../src/components/redirect_uri_setting";
import { ActionTypes } from "../src/state";
import {
  createTestStore,
  requestHeaders,
  siteUrl,
  stubFetch,
} from "./test_store";

const connectPath = "/plugins/mattermost-pagerduty/oauth/connect";

const unlinked: LinkStatus = {
  configured: true,
  linked: false,
  connect_path: connectPath,
};

const linked: LinkStatus = {
  configured: true,
  linked: true,
  name: "Ada Lovelace",
  email: "ada@example.com",
  account: "acme",
  html_url: "https://acme.pagerduty.com/users/P1",
  connect_path: connectPath,
};

const adminConfigured: AdminStatus = {
  configured: true,
  has_credentials: true,
  problems: [],
  site_url_set: true,
  redirect_uri: `${siteUrl}/plugins/mattermost-pagerduty/oauth/complete`,
};

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
  vi.useRealTimers();
});

function renderPanel(store = createTestStore()) {
  render(
    <Provider store={store}>
      <LinkPanel theme={{ centerChannelBg: "#1f1f1f" }} />
    </Provider>,
  );

  return store;
}

describe("LinkPanel", () => {
  it("unconfigured shows only a note", async () => {
    stubFetch(() => ({ body: { ...unlinked, configured: false } }));

    renderPanel();

    expect(await screen.findByText(/not configured/)).toBeTruthy();
    expect(screen.queryAllByRole("button")).toEqual([]);
  });

  it("unlinked shows Connect", async () => {
    stubFetch(() => ({ body: unlinked }));

    renderPanel();

    expect(await screen.findByRole("button", { name: "Connect" })).toBeTruthy();
    expect(screen.getByText(/not linked to PagerDuty/)).toBeTruthy();
  });

  it("linked shows identity and Disconnect", async () => {
    stubFetch(() => ({ body: linked }));

    renderPanel();

    expect(await screen.findByText("Ada Lovelace")).toBeTruthy();
    expect(screen.getByText("ada@example.com")).toBeTruthy();
    const account = screen.getByRole("link", { name: "acme" });
    expect(account.getAttribute("href")).toBe(linked.html_url);
    expect(screen.getByRole("button", { name: "Disconnect" })).toBeTruthy();
  });

  it("applies the theme prop as fallback", async () => {
    stubFetch(() => ({ body: unlinked }));

    renderPanel();

    const section = await screen.findByRole("region", {
      name: "PagerDuty account",
    });
    expect(section.style.getPropertyValue("--pd-bg")).toBe("#1f1f1f");
  });

  it("Connect opens the popup and rereads on close", async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true });
    let status = unlinked;
    const fetchMock = stubFetch(() => ({ body: status }));
    const popup = { closed: false };
    const open = vi.fn(() => popup);
    vi.stubGlobal("open", open);
    renderPanel();

    fireEvent.click(await screen.findByRole("button", { name: "Connect" }));

    expect(open).toHaveBeenCalledWith(
      `${siteUrl}${connectPath}`,
      "pagerduty-connect",
      "width=600,height=700",
    );
    expect(screen.getByText(/Waiting for PagerDuty/)).toBeTruthy();

    status = linked;
    popup.closed = true;
    await act(async () => {
      await vi.advanceTimersByTimeAsync(popupPollMs);
    });

    expect(await screen.findByText("Ada Lovelace")).toBeTruthy();
    expect(fetchMock).toHaveBeenCalledTimes(2);
  });

  it("blocked popup offers a link", async () => {
    stubFetch(() => ({ body: unlinked }));
    vi.stubGlobal(
      "open",
      vi.fn(() => null),
    );
    renderPanel();

    fireEvent.click(await screen.findByRole("button", { name: "Connect" }));

    const link = screen.getByRole("link", {
      name: "Open the PagerDuty consent page",
    });
    expect(link.getAttribute("href")).toBe(`${siteUrl}${connectPath}`);
  });

  it("Disconnect unlinks and focuses Connect", async () => {
    const fetchMock = stubFetch((method) =>
      method === "POST"
        ? { body: { linked: false, removed: true } }
        : { body: linked },
    );
    renderPanel();
    const button = await screen.findByRole("button", { name: "Disconnect" });
    button.focus();

    fireEvent.click(button);

    const connect = await screen.findByRole("button", { name: "Connect" });
    expect(document.activeElement).toBe(connect);
    expect(fetchMock.mock.calls[1][1]?.method).toBe("POST");
    expect(requestHeaders(fetchMock, 1).has("X-CSRF-Token")).toBe(true);
  });

  it("failed Disconnect shows an alert", async () => {
    stubFetch((method) =>
      method === "POST"
        ? { status: 500, body: { error: "store unavailable" } }
        : { body: linked },
    );
    renderPanel();

    fireEvent.click(await screen.findByRole("button", { name: "Disconnect" }));

    const alert = await screen.findByRole("alert");
    expect(alert.textContent).toContain("store unavailable");
    expect(screen.getByRole("button", { name: "Disconnect" })).toBeTruthy();
  });

  it("load failure offers a retry", async () => {
    let fail = true;
    stubFetch(() =>
      fail
        ? { status: 401, body: { error: "no session" } }
        : { body: unlinked },
    );
    renderPanel();

    expect((await screen.findByRole("alert")).textContent).toContain(
      "no session",
    );
    fail = false;
    fireEvent.click(screen.getByRole("button", { name: "Try again" }));

    expect(await screen.findByRole("button", { name: "Connect" })).toBeTruthy();
  });

  it("link event updates the panel live", async () => {
    stubFetch(() => ({ body: unlinked }));
    const store = renderPanel();
    await screen.findByRole("button", { name: "Connect" });

    act(() => {
      store.dispatch({
        type: ActionTypes.linkChanged,
        data: { linked: true, name: "Grace", email: "grace@example.com" },
      });
    });

    expect(screen.getByText("Grace")).toBeTruthy();
    expect(screen.getByText("grace@example.com")).toBeTruthy();
  });
});

function renderSetting(config: unknown = {}) {
  const store = createTestStore();
  const view = render(
    <Provider store={store}>
      <RedirectUriSetting id="RedirectURI" config={config} />
    </Provider>,
  );

  return { store, view };
}

describe("RedirectUriSetting", () => {
  it("shows the redirect URI and saved state", async () => {
    stubFetch(() => ({ body: adminConfigured }));

    renderSetting();

    const input =
      await screen.findByLabelText<HTMLInputElement>("OAuth redirect URI");
    expect(input.value).toBe(adminConfigured.redirect_uri);
    expect(input.readOnly).toBe(true);
    expect(screen.getByText(/Configuration saved/)).toBeTruthy();
  });

  it("Copy writes the URI to the clipboard", async () => {
    stubFetch(() => ({ body: adminConfigured }));
    const writeText = vi.fn(() => Promise.resolve());
    vi.stubGlobal("navigator", { clipboard: { writeText } });
    vi.stubGlobal("isSecureContext", true);
    renderSetting();

    fireEvent.click(await screen.findByRole("button", { name: "Copy" }));

    expect(writeText).toHaveBeenCalledWith(adminConfigured.redirect_uri);
    expect(await screen.findByText("Copied the redirect URI.")).toBeTruthy();
  });

  it("reports a failed copy", async () => {
    stubFetch(() => ({ body: adminConfigured }));
    const writeText = vi.fn(() => Promise.reject(new Error("denied")));
    vi.stubGlobal("navigator", { clipboard: { writeText } });
    vi.stubGlobal("isSecureContext", true);
    renderSetting();

    fireEvent.click(await screen.findByRole("button", { name: "Copy" }));

    expect(await screen.findByText(/Copy failed/)).toBeTruthy();
  });

  it("unconfigured lists the problems", async () => {
    stubFetch(() => ({
      body: {
        ...adminConfigured,
        configured: false,
        has_credentials: false,
        problems: ["Client ID is missing."],
      },
    }));

    renderSetting();

    expect(await screen.findByText(/Not configured/)).toBeTruthy();
    expect(screen.getByText("Client ID is missing.")).toBeTruthy();
  });

  it("missing site URL explains the fix", async () => {
    stubFetch(() => ({
      body: { ...adminConfigured, site_url_set: false, redirect_uri: null },
    }));

    renderSetting();

    expect(await screen.findByText(/Site URL is not set/)).toBeTruthy();
    expect(screen.queryByRole("button", { name: "Copy" })).toBeNull();
  });

  it("non-admin sees the error", async () => {
    stubFetch(() => ({ status: 403, body: { error: "system admins only" } }));

    renderSetting();

    expect((await screen.findByRole("alert")).textContent).toContain(
      "system admins only",
    );
  });

  it("rereads the status after a save", async () => {
    const fetchMock = stubFetch(() => ({ body: adminConfigured }));
    const { store, view } = renderSetting({ a: 1 });
    await screen.findByLabelText("OAuth redirect URI");

    view.rerender(
      <Provider store={store}>
        <RedirectUriSetting id="RedirectURI" config={{ a: 2 }} />
      </Provider>,
    );

    await vi.waitFor(() => expect(fetchMock).toHaveBeenCalledTimes(2));
  });
});
