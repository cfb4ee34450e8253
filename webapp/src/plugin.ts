import type {
  PluginClass,
  PluginRegistry,
  WebAppStore,
} from "./types/registry";

export class Plugin implements PluginClass {
  // Registers nothing yet, so the plugin adds no visible element.
  initialize(_registry: PluginRegistry, _store: WebAppStore): void {}

  uninitialize(): void {}
}
