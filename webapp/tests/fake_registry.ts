import { vi } from "vitest";

import type { PluginRegistry, WebAppStore } from "../src/types/registry";

// Returns a registry whose methods record their calls. Typing it as
// PluginRegistry makes tsc fail here when the interface gains a method.
export function createFakeRegistry() {
  const registry = {
    registerRootComponent: vi.fn(() => "root-id"),
    registerRightHandSidebarComponent: vi.fn(() => ({
      id: "rhs-id",
      showRHSPlugin: {},
      hideRHSPlugin: {},
      toggleRHSPlugin: {},
    })),
    registerChannelHeaderButtonAction: vi.fn(() => "header-button-id"),
    unregisterComponent: vi.fn(),
    registerReducer: vi.fn(),
    registerWebSocketEventHandler: vi.fn(),
    unregisterWebSocketEventHandler: vi.fn(),
    registerReconnectHandler: vi.fn(),
    unregisterReconnectHandler: vi.fn(),
  } satisfies PluginRegistry;

  return registry;
}

// Returns a store with an empty state that rejects every dispatch, because
// the plugin dispatches nothing yet.
export function createFakeStore(): WebAppStore {
  return {
    getState: () => ({}),
    dispatch: vi.fn(() => {
      throw new Error(
        "The fake store rejects dispatch because none is expected.",
      );
    }),
    subscribe: vi.fn(() => () => {}),
    replaceReducer: vi.fn(),
    [Symbol.observable]: vi.fn(),
  };
}
