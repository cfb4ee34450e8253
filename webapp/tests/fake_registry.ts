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
    registerAdminConsoleCustomSetting: vi.fn(),
  } satisfies PluginRegistry;

  return registry;
}

// Returns a store with a fixed state that records each dispatched action.
export function createFakeStore(state: unknown = {}) {
  const store = {
    getState: () => state,
    dispatch: vi.fn((action: unknown) => action),
    subscribe: vi.fn(() => () => {}),
    replaceReducer: vi.fn(),
    [Symbol.observable]: vi.fn(),
  };

  return store as typeof store & WebAppStore;
}
