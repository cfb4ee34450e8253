import { readFileSync } from "node:fs";

import { describe, expect, it } from "vitest";

import { pluginId } from "../src/manifest";
import { Plugin } from "../src/plugin";
import { createFakeRegistry, createFakeStore } from "./fake_registry";

function readManifestId(): unknown {
  const manifestUrl = new URL("../../plugin.json", import.meta.url);
  const manifest = JSON.parse(readFileSync(manifestUrl, "utf8")) as {
    id?: unknown;
  };

  return manifest.id;
}

describe("manifest", () => {
  it("pluginId matches plugin.json", () => {
    expect(pluginId).toBe(readManifestId());
  });
});

describe("Plugin", () => {
  it("initialize registers nothing yet", () => {
    const registry = createFakeRegistry();

    new Plugin().initialize(registry, createFakeStore());

    for (const [name, method] of Object.entries(registry)) {
      expect(method.mock.calls, name).toEqual([]);
    }
  });

  it("uninitialize after initialize succeeds", () => {
    const plugin = new Plugin();
    plugin.initialize(createFakeRegistry(), createFakeStore());

    expect(() => plugin.uninitialize()).not.toThrow();
  });
});
