// Builds dist/main.js, the bundle that plugin.json names as webapp.bundle_path.
// `node build.mjs` writes the file. Tests import `buildOptions` and build in
// memory instead.
import { stat } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

import * as esbuild from "esbuild";

const webappDir = path.dirname(fileURLToPath(import.meta.url));

/**
 * Modules that the Mattermost web app sets on `window` for plugins, mapped to
 * the name of that global. The bundle reads them from `window` and never
 * contains their code, so the plugin runs with the host's React and Redux.
 * @type {Record<string, string>}
 */
export const hostGlobals = {
  react: "React",
  "react-dom": "ReactDOM",
  redux: "Redux",
  "react-redux": "ReactRedux",
};

const hostGlobalFilter = new RegExp(
  `^(${Object.keys(hostGlobals).join("|")})$`,
);

// Mattermost sets a global for react/jsx-runtime only from 12.0 (its plugin
// guide "React JSX runtime compatibility"), and plugin.json allows 9.5. A
// bundled subpath would ship a second React runtime beside the host's, so
// the build rejects every subpath of a host module.
const hostSubpathFilter = new RegExp(
  `^(${Object.keys(hostGlobals).join("|")})/`,
);

/**
 * Resolves each module in `hostGlobals` to a stub that exports the global.
 * @type {esbuild.Plugin}
 */
export const hostGlobalsPlugin = {
  name: "mattermost-host-globals",
  setup(build) {
    build.onResolve({ filter: hostGlobalFilter }, (args) => ({
      path: args.path,
      namespace: "host-global",
    }));

    build.onResolve({ filter: hostSubpathFilter }, (args) => ({
      errors: [
        {
          text: `"${args.path}" is not provided by the Mattermost web app; import the package root instead, and keep the classic JSX transform ("jsx": "react" in tsconfig.json).`,
        },
      ],
    }));

    build.onLoad({ filter: /.*/, namespace: "host-global" }, (args) => {
      const globalName = hostGlobals[args.path];
      const contents = [
        `if (window.${globalName} === undefined) {`,
        `  throw new Error("window.${globalName} is missing. Load this bundle through the Mattermost web app, which sets it for plugins.");`,
        `}`,
        `module.exports = window.${globalName};`,
      ].join("\n");

      return { contents, loader: "js" };
    });
  },
};

/** @type {esbuild.BuildOptions} */
export const buildOptions = {
  absWorkingDir: webappDir,
  entryPoints: ["src/index.ts"],
  outfile: "dist/main.js",
  bundle: true,
  format: "iife",
  platform: "browser",
  target: "es2020",
  // The classic transform compiles JSX to React.createElement, which
  // window.React has on every Mattermost version that plugin.json allows. The automatic transform
  // needs react/jsx-runtime, a global only from Mattermost 12.0.
  jsx: "transform",
  minify: true,
  sourcemap: false,
  logLevel: "warning",
  plugins: [hostGlobalsPlugin],
};

async function main() {
  await esbuild.build(buildOptions);

  const outfile = path.join(webappDir, "dist", "main.js");
  const { size } = await stat(outfile);
  console.log(`built ${path.relative(process.cwd(), outfile)} (${size} bytes)`);
}

const runAsScript =
  process.argv[1] !== undefined &&
  import.meta.url === pathToFileURL(process.argv[1]).href;

if (runAsScript) {
  main().catch((error) => {
    console.error(error);
    process.exitCode = 1;
  });
}
