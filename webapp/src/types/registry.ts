import type { ComponentType, ReactElement, ReactNode } from "react";
import type { Reducer, Store } from "redux";

// The subset of the registry that the Mattermost web app passes to a plugin's
// `initialize`. Add a method here before calling it, with the signature from
// `webapp/channels/src/plugins/registry.ts` in the Mattermost repository.
// NOTE: these signatures were read from the master branch of that repository,
// not checked against the 9.5 release that plugin.json sets as the minimum.

// Identifier that a registration method returns and `unregisterComponent` takes.
export type ComponentId = string;

// Text or a React element, as the web app accepts for titles and tooltips.
export type RegistryLabel = string | ReactElement;

// Message that the web app passes to a WebSocket event handler.
export interface WebSocketMessage<Data = Record<string, unknown>> {
  event: string;
  data: Data;
  seq: number;
}

// Redux actions that open, close or toggle a right-hand sidebar component.
// The web app builds them, so their type stays opaque to the plugin.
export interface RightHandSidebarRegistration {
  id: ComponentId;
  showRHSPlugin: unknown;
  hideRHSPlugin: unknown;
  toggleRHSPlugin: unknown;
}

// Props that the web app passes to the components that a plugin registers
// for the right-hand sidebar. `theme` is the user's Mattermost theme.
export interface PluginComponentProps {
  theme?: Record<string, string>;
}

export interface PluginRegistry {
  registerRootComponent(component: ComponentType): ComponentId;

  registerRightHandSidebarComponent(
    component: ComponentType<PluginComponentProps>,
    title: RegistryLabel,
  ): RightHandSidebarRegistration;

  registerChannelHeaderButtonAction(
    icon: ReactNode,
    action: () => void,
    dropdownText: RegistryLabel,
    tooltipText: RegistryLabel,
  ): ComponentId;

  unregisterComponent(componentId: ComponentId): void;

  // The web app stores the reducer's state under `plugins-<plugin id>`.
  registerReducer(reducer: Reducer): void;

  // Events that the server side of this plugin publishes arrive with the
  // prefix `custom_<plugin id>_`.
  registerWebSocketEventHandler(
    event: string,
    handler: (message: WebSocketMessage) => void,
  ): void;

  unregisterWebSocketEventHandler(event: string): void;

  // The web app calls the handler after its WebSocket connection reconnects.
  registerReconnectHandler(handler: () => void): void;

  unregisterReconnectHandler(): void;

  // Renders `component` in place of the plugin setting whose `key` matches
  // and whose type in plugin.json is `custom`.
  registerAdminConsoleCustomSetting(
    key: string,
    component: ComponentType<Record<string, unknown>>,
    options?: { showTitle?: boolean },
  ): void;
}

// Redux store of the web app. Its state shape belongs to Mattermost, so
// plugin code narrows it where it reads it.
export type WebAppStore = Store<unknown>;

// Object that a plugin passes to `window.registerPlugin`.
export interface PluginClass {
  initialize(registry: PluginRegistry, store: WebAppStore): void;
  uninitialize(): void;
}
