import type { PluginClass } from "./registry";

declare global {
  interface Window {
    // Defined by the Mattermost web app before it loads plugin bundles.
    registerPlugin(pluginId: string, plugin: PluginClass): void;
  }
}

export {};
