import React from "react";

import { HeaderIcon } from "./components/header_icon";
import { LinkPanel } from "./components/link_panel";
import { RedirectUriSetting } from "./components/redirect_uri_setting";
import { pluginId } from "./manifest";
import { ActionTypes, fetchStatus, parseLinkChanged, reducer } from "./state";
import type {
  PluginClass,
  PluginRegistry,
  WebAppStore,
  WebSocketMessage,
} from "./types/registry";

// WebSocket event that the server sends to all sessions of a user when the
// user's link is created or removed.
export const linkChangedEvent = `custom_${pluginId}_link_changed`;

// Key of the `custom` setting in plugin.json that the System Console renders
// with RedirectUriSetting.
export const redirectUriSettingKey = "RedirectURI";

export class Plugin implements PluginClass {
  initialize(registry: PluginRegistry, store: WebAppStore): void {
    registry.registerReducer(reducer);

    const rhs = registry.registerRightHandSidebarComponent(
      LinkPanel,
      "PagerDuty",
    );
    registry.registerChannelHeaderButtonAction(
      React.createElement(HeaderIcon),
      () => store.dispatch(rhs.toggleRHSPlugin as never),
      "PagerDuty",
      "PagerDuty",
    );

    registry.registerWebSocketEventHandler(
      linkChangedEvent,
      (message: WebSocketMessage) => {
        const data = parseLinkChanged(message.data);
        if (data !== null) {
          store.dispatch({ type: ActionTypes.linkChanged, data });
        }
      },
    );

    // Events sent while the connection was down are lost, so read the
    // status again after each reconnect.
    registry.registerReconnectHandler(() => {
      void fetchStatus(store);
    });

    registry.registerAdminConsoleCustomSetting(
      redirectUriSettingKey,
      RedirectUriSetting as React.ComponentType<Record<string, unknown>>,
      { showTitle: true },
    );

    void fetchStatus(store);
  }

  uninitialize(): void {}
}
