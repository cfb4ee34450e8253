// @vitest-environment jsdom
import { readFileSync } from "node:fs";
import path from "node:path";

import { afterEach, describe, expect, it, vi } from "vitest";

import { pluginId } from "../src/manifest";
import { linkChangedEvent, Plugin, redirectUriSettingKey } from "../src/plugin";
import { ActionTypes, reducer, selectPluginState } from "../src/state";
import type { WebSocketMessage } from "../src/types/registry";
import { createFakeRegistry, createFakeStore } from "./fake_registry";
import { createTestStore, siteUrl, stubFetch } from "./test_store";

function readManifestId(): unknown {
  // jsdom replaces the URL class, so build a path instead of a file URL.
  const manifestPath = path.join(import.meta.dirname, "../../plugin.json");
  const manifest = JSON.parse(readFileSync(manifestPath, "utf8")) as {
    id?: unknown;
  };

  return manifest.id;
}

const unlinkedStatus = {
  configured: true,
  linked: false,
  connect_path: `/plugins/${pluginId}/oauth/connect`,
};

afterEach(() => {
  vi.unstubAllGlobals();
});

describe("manifest", () => {
  it("pluginId matches plugin.json", () => {
    expect(pluginId).toBe(readManifestId());
  });
});

describe("Plugin", () => {
  it("initialize registers each extension", () => {
    stubFetch(() => ({ body: unlinkedStatus }));
    const registry = createFakeRegistry();

    new Plugin().initialize(registry, createTestStore());

    expect(registry.registerReducer).toHaveBeenCalledWith(reducer);
    expect(registry.registerRightHandSidebarComponent).toHaveBeenCalledTimes(1);
    expect(registry.registerRightHandSidebarComponent.mock.calls[0]).toContain(
      "PagerDuty",
    );
    const headerCall = registry.registerChannelHeaderButtonAction.mock
      .calls[0] as unknown[];
    expect(headerCall[2]).toBe("PagerDuty");
    expect(headerCall[3]).toBe("PagerDuty");
    expect(registry.registerWebSocketEventHandler).toHaveBeenCalledWith(
      "custom_mattermost-pagerduty_link_changed",
      expect.any(Function),
    );
    expect(registry.registerReconnectHandler).toHaveBeenCalledTimes(1);
    expect(registry.registerAdminConsoleCustomSetting).toHaveBeenCalledWith(
      "RedirectURI",
      expect.any(Function),
      { showTitle: true },
    );
    expect(registry.registerRootComponent).not.toHaveBeenCalled();
  });

  it("initialize fetches the status", async () => {
    const fetchMock = stubFetch(() => ({ body: unlinkedStatus }));
    const store = createTestStore();

    new Plugin().initialize(createFakeRegistry(), store);

    await vi.waitFor(() => {
      expect(selectPluginState(store.getState()).status).toEqual(
        unlinkedStatus,
      );
    });
    expect(fetchMock.mock.calls[0][0] as string).toBe(
      `${siteUrl}/plugins/${pluginId}/api/v1/status`,
    );
  });

  it("header button toggles the sidebar", () => {
    stubFetch(() => ({ body: unlinkedStatus }));
    const registry = createFakeRegistry();
    const store = createFakeStore();

    new Plugin().initialize(registry, store);
    const action = registry.registerChannelHeaderButtonAction.mock
      .calls[0] as unknown[];
    (action[1] as () => void)();

    const rhs = registry.registerRightHandSidebarComponent.mock.results[0]
      .value as { toggleRHSPlugin: unknown };
    const toggle = rhs.toggleRHSPlugin;
    expect(store.dispatch).toHaveBeenLastCalledWith(toggle);
  });

  it("WebSocket event updates the link", () => {
    stubFetch(() => ({ body: unlinkedStatus }));
    const registry = createFakeRegistry();
    const store = createTestStore();
    new Plugin().initialize(registry, store);
    const handler = registry.registerWebSocketEventHandler.mock
      .calls[0] as unknown[];

    (handler[1] as (message: WebSocketMessage) => void)({
      event: linkChangedEvent,
      data: { linked: true, name: "Ada", email: "ada@example.com" },
      seq: 4,
    });

    const { status } = selectPluginState(store.getState());
    expect(status?.linked).toBe(true);
    expect(status?.name).toBe("Ada");
    expect(status?.email).toBe("ada@example.com");
  });

  it("WebSocket event with invalid data is ignored", () => {
    stubFetch(() => ({ body: unlinkedStatus }));
    const registry = createFakeRegistry();
    const store = createFakeStore();
    new Plugin().initialize(registry, store);
    const handler = registry.registerWebSocketEventHandler.mock
      .calls[0] as unknown[];
    store.dispatch.mockClear();

    (handler[1] as (message: WebSocketMessage) => void)({
      event: linkChangedEvent,
      data: { linked: "yes" },
      seq: 5,
    });

    expect(store.dispatch).not.toHaveBeenCalledWith(
      expect.objectContaining({ type: ActionTypes.linkChanged }),
    );
  });

  it("reconnect handler fetches the status again", async () => {
    const fetchMock = stubFetch(() => ({ body: unlinkedStatus }));
    const registry = createFakeRegistry();
    new Plugin().initialize(registry, createTestStore());
    await vi.waitFor(() => expect(fetchMock).toHaveBeenCalledTimes(1));

    (
      registry.registerReconnectHandler.mock.calls[0] as unknown[] as [
        () => void,
      ]
    )[0]();

    expect(fetchMock).toHaveBeenCalledTimes(2);
  });

  it("setting key matches the custom setting", () => {
    expect(redirectUriSettingKey).toBe("RedirectURI");
  });

  it("uninitialize after initialize succeeds", () => {
    stubFetch(() => ({ body: unlinkedStatus }));
    const plugin = new Plugin();
    plugin.initialize(createFakeRegistry(), createTestStore());

    expect(() => plugin.uninitialize()).not.toThrow();
  });
});
