import { readFileSync } from "node:fs";
import vm from "node:vm";

import * as esbuild from "esbuild";
import * as React from "react";
import * as ReactDOM from "react-dom";
import * as ReactRedux from "react-redux";
import * as Redux from "redux";
import { describe, expect, it, vi } from "vitest";

import { buildOptions, hostGlobals, hostGlobalsPlugin } from "../build.mjs";
import { createFakeRegistry, createFakeStore } from "./fake_registry";

// NOTE: a budget chosen for this plugin, not a Mattermost limit. ReactDOM
// 17.0.2 alone is 120,585 bytes (react-dom.production.min.js), so bundling it
// fails here. React and Redux are smaller, and the marker test catches them.
const maxBundleBytes = 32 * 1024;

// Strings that minified builds of React 17.0.2 and Redux 4.2.1 contain and
// plugin code has no reason to.
const hostLibraryMarkers = ["react.element", "@@redux/INIT"];

async function buildInMemory(options: esbuild.BuildOptions): Promise<string> {
  const result = await esbuild.build({ ...options, write: false });
  expect(result.outputFiles).toHaveLength(1);

  return result.outputFiles[0].text;
}

// Returns a fake `window` with the globals that the web app sets for plugins.
function createHostWindow(registerPlugin: unknown) {
  return { registerPlugin, React, ReactDOM, Redux, ReactRedux };
}

function readManifestId(): string {
  const manifestUrl = new URL("../../plugin.json", import.meta.url);

  return (JSON.parse(readFileSync(manifestUrl, "utf8")) as { id: string }).id;
}

describe("bundle", () => {
  it("registers under the plugin.json id", async () => {
    const bundle = await buildInMemory(buildOptions);
    const registerPlugin = vi.fn();

    vm.runInNewContext(bundle, { window: createHostWindow(registerPlugin) });

    expect(registerPlugin).toHaveBeenCalledTimes(1);
    const [id, plugin] = registerPlugin.mock.calls[0] as [string, unknown];
    expect(id).toBe(readManifestId());
    expect(plugin).toHaveProperty("initialize", expect.any(Function));
    expect(plugin).toHaveProperty("uninitialize", expect.any(Function));
  });

  it("registered plugin initializes", async () => {
    const bundle = await buildInMemory(buildOptions);
    const registerPlugin = vi.fn();
    vm.runInNewContext(bundle, { window: createHostWindow(registerPlugin) });
    const plugin = registerPlugin.mock.calls[0][1] as {
      initialize(registry: unknown, store: unknown): void;
    };

    expect(() =>
      plugin.initialize(createFakeRegistry(), createFakeStore()),
    ).not.toThrow();
  });

  it("stays within the size budget", async () => {
    const bundle = await buildInMemory(buildOptions);

    expect(Buffer.byteLength(bundle)).toBeLessThan(maxBundleBytes);
  });

  it("contains no React or Redux code", async () => {
    const bundle = await buildInMemory(buildOptions);

    for (const marker of hostLibraryMarkers) {
      expect(bundle, marker).not.toContain(marker);
    }
  });
});

// Globals that the Mattermost web app sets for plugins (window.React and so
// on), kept apart from build.mjs so that a wrong name there fails a test.
const expectedHostGlobals: Record<string, string> = {
  react: "React",
  "react-dom": "ReactDOM",
  redux: "Redux",
  "react-redux": "ReactRedux",
};

describe("hostGlobalsPlugin", () => {
  const hostModules = Object.keys(expectedHostGlobals);

  function buildEntry(contents: string): Promise<string> {
    return buildInMemory({
      stdin: { contents, loader: "ts", resolveDir: process.cwd() },
      bundle: true,
      format: "iife",
      logLevel: "silent",
      plugins: [hostGlobalsPlugin],
    });
  }

  it("maps each host module to its window global", async () => {
    const imports = hostModules
      .map((name, index) => `import * as module${index} from "${name}";`)
      .join("\n");
    const exported = hostModules
      .map((name, index) => `${JSON.stringify(name)}: module${index}`)
      .join(", ");
    const bundle = await buildEntry(
      `${imports}\nwindow.imported = { ${exported} };`,
    );

    const window: Record<string, unknown> = {};
    for (const globalName of Object.values(expectedHostGlobals)) {
      window[globalName] = { marker: globalName };
    }
    vm.runInNewContext(bundle, { window });

    const imported = window.imported as Record<string, { marker?: string }>;
    for (const [name, globalName] of Object.entries(expectedHostGlobals)) {
      expect(imported[name]?.marker, name).toBe(globalName);
    }
  });

  it("maps no module beyond the expected", () => {
    expect(Object.keys(hostGlobals).sort()).toEqual([...hostModules].sort());
  });

  it("throws when a host global is missing", async () => {
    const bundle = await buildEntry(
      `import { createElement } from "react";\nwindow.createElement = createElement;`,
    );

    expect(() => {
      vm.runInNewContext(bundle, { window: {} });
    }).toThrow("window.React is missing");
  });

  it("rejects a host module subpath", async () => {
    await expect(
      buildEntry(`import { jsx } from "react/jsx-runtime";\nconsole.log(jsx);`),
    ).rejects.toThrow('"react/jsx-runtime" is not provided');
  });
});
