// Loads the built bundle into a host page that replaces the Mattermost
// web app, in headless Chromium, and drives Connect and Disconnect against
// stubbed plugin routes. Screenshots go to test-artifacts/.
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";

import * as esbuild from "esbuild";
import { chromium } from "playwright-core";
import type { BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { buildOptions } from "../../build.mjs";

const webappDir = path.join(import.meta.dirname, "../..");
const artifactsDir = path.join(webappDir, "test-artifacts");
const chromiumPath = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const pluginBase = "/plugins/mattermost-pagerduty";
const csrfToken = "csrf-test-token";
const linkChangedEvent = "custom_mattermost-pagerduty_link_changed";

// Delay before the stub result page closes itself. The real one waits 2 s,
// which would only slow the test down.
const resultPageCloseMs = 300;

const identity = {
  name: "Ada Lovelace",
  email: "ada@example.com",
  account: "acme",
  html_url: "https://acme.pagerduty.com/users/PABC123",
};

// State of the stubbed plugin server and the requests it received.
const server = {
  configured: false,
  linked: false,
  requests: [] as {
    method: string;
    url: string;
    headers: http.IncomingHttpHeaders;
  }[],
};

function statusBody() {
  return {
    configured: server.configured,
    linked: server.linked,
    ...(server.linked ? identity : {}),
    connect_path: `${pluginBase}/oauth/connect`,
  };
}

function sendJson(
  response: http.ServerResponse,
  status: number,
  body: unknown,
) {
  response.writeHead(status, { "Content-Type": "application/json" });
  response.end(JSON.stringify(body));
}

function vendorPath(file: string) {
  return path.join(webappDir, "node_modules", file);
}

const vendorFiles: Record<string, string> = {
  "/vendor/react.js": vendorPath("react/umd/react.production.min.js"),
  "/vendor/react-dom.js": vendorPath(
    "react-dom/umd/react-dom.production.min.js",
  ),
  "/vendor/redux.js": vendorPath("redux/dist/redux.min.js"),
  "/vendor/react-redux.js": vendorPath("react-redux/dist/react-redux.min.js"),
};

async function buildScripts() {
  const bundle = await esbuild.build({ ...buildOptions, write: false });
  const host = await esbuild.build({
    entryPoints: [path.join(import.meta.dirname, "host.ts")],
    bundle: true,
    format: "iife",
    target: "es2020",
    write: false,
    logLevel: "warning",
  });

  return {
    bundle: bundle.outputFiles[0].text,
    host: host.outputFiles[0].text,
  };
}

function startServer(scripts: { bundle: string; host: string }) {
  const httpServer = http.createServer((request, response) => {
    void handle(request, response, scripts).catch((error: unknown) => {
      response.writeHead(500);
      response.end(String(error));
    });
  });

  return new Promise<http.Server>((resolve) => {
    httpServer.listen(0, "127.0.0.1", () => resolve(httpServer));
  });
}

async function handle(
  request: http.IncomingMessage,
  response: http.ServerResponse,
  scripts: { bundle: string; host: string },
) {
  const url = new URL(request.url ?? "/", "http://127.0.0.1");
  const method = request.method ?? "GET";
  server.requests.push({ method, url: url.pathname, headers: request.headers });

  if (url.pathname === "/") {
    const page = await readFile(path.join(import.meta.dirname, "index.html"));
    response.writeHead(200, {
      "Content-Type": "text/html",
      "Set-Cookie": `MMCSRF=${csrfToken}; Path=/`,
    });
    response.end(page);
    return;
  }
  if (url.pathname === "/host.js" || url.pathname.endsWith("/main.js")) {
    response.writeHead(200, { "Content-Type": "text/javascript" });
    response.end(url.pathname === "/host.js" ? scripts.host : scripts.bundle);
    return;
  }
  if (vendorFiles[url.pathname] !== undefined) {
    response.writeHead(200, { "Content-Type": "text/javascript" });
    response.end(await readFile(vendorFiles[url.pathname]));
    return;
  }
  if (url.pathname === `${pluginBase}/oauth/connect`) {
    // Stands in for the round trip through PagerDuty and the result page.
    server.linked = true;
    response.writeHead(200, { "Content-Type": "text/html" });
    response.end(
      `<!doctype html><title>Connected</title><p>Your PagerDuty account is linked.</p>` +
        `<script>if (window.opener) setTimeout(() => window.close(), ${resultPageCloseMs});</script>`,
    );
    return;
  }
  if (request.headers["x-requested-with"] !== "XMLHttpRequest") {
    sendJson(response, 401, { error: "missing X-Requested-With" });
    return;
  }
  if (method === "GET" && url.pathname === `${pluginBase}/api/v1/status`) {
    sendJson(response, 200, statusBody());
    return;
  }
  if (method === "POST" && url.pathname === `${pluginBase}/api/v1/disconnect`) {
    if (request.headers["x-csrf-token"] !== csrfToken) {
      sendJson(response, 401, { error: "invalid CSRF token" });
      return;
    }
    const removed = server.linked;
    server.linked = false;
    sendJson(response, 200, { linked: false, removed });
    return;
  }
  if (
    method === "GET" &&
    url.pathname === `${pluginBase}/api/v1/admin/status`
  ) {
    sendJson(response, 200, {
      configured: server.configured,
      has_credentials: server.configured,
      problems: server.configured
        ? []
        : ["Client ID and Client Secret are not set."],
      site_url_set: true,
      redirect_uri: `http://127.0.0.1${pluginBase}/oauth/complete`,
    });
    return;
  }
  sendJson(response, 404, { error: `no route for ${method} ${url.pathname}` });
}

// Presses Tab until the focused element has the accessible name `name`.
async function tabTo(page: Page, name: string) {
  for (let press = 0; press < 25; press++) {
    await page.keyboard.press("Tab");
    const focused = await page.evaluate(() => {
      const element = document.activeElement;
      return element?.getAttribute("aria-label") ?? element?.textContent ?? "";
    });
    if (focused.trim() === name) {
      return;
    }
  }
  throw new Error(
    `No element named "${name}" received focus within 25 Tab presses.`,
  );
}

async function screenshotBothThemes(page: Page, state: string) {
  for (const theme of ["light", "dark"]) {
    await page.evaluate((name) => window.host.setTheme(name), theme);
    await page.screenshot({
      path: path.join(artifactsDir, `${state}-${theme}.png`),
    });
  }
  await page.evaluate(() => window.host.setTheme("light"));
}

declare global {
  interface Window {
    host: {
      calls: { method: string; args: unknown[] }[];
      setTheme(name: string): void;
      showAdmin(show: boolean): void;
      saveConfig(): void;
      emitWebSocketEvent(event: string, data: unknown): boolean;
      reconnect(): void;
    };
  }
}

describe("plugin in headless Chromium", () => {
  let httpServer: http.Server;
  let context: BrowserContext;
  let userDataDir: string;
  let page: Page;
  let origin: string;

  beforeAll(async () => {
    if (!existsSync(chromiumPath)) {
      throw new Error(
        `Chromium not found at ${chromiumPath}. Install Debian's chromium package (apt-get install chromium) or set CHROMIUM_PATH.`,
      );
    }
    await mkdir(artifactsDir, { recursive: true });
    httpServer = await startServer(await buildScripts());
    origin = `http://127.0.0.1:${(httpServer.address() as AddressInfo).port}`;
    userDataDir = await mkdtemp(path.join(os.tmpdir(), "pagerduty-chromium-"));
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: chromiumPath,
      headless: true,
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
      viewport: { width: 1000, height: 620 },
    });
    page = context.pages()[0] ?? (await context.newPage());
  }, 30_000);

  afterAll(async () => {
    await context?.close();
    await new Promise((resolve) => httpServer?.close(resolve));
    if (userDataDir !== undefined) {
      await rm(userDataDir, { recursive: true, force: true });
    }
  });

  it("registers the expected extensions", async () => {
    const errors: string[] = [];
    page.on("pageerror", (error) => errors.push(error.message));
    await page.goto(`${origin}/`);
    await page.waitForFunction(() =>
      window.host.calls.some((call) => call.method === "registerPlugin"),
    );

    const calls = await page.evaluate(() => window.host.calls);
    const methods = calls.map((call) => call.method);
    expect(calls[0]).toEqual({
      method: "registerPlugin",
      args: ["mattermost-pagerduty"],
    });
    expect(methods.sort()).toEqual(
      [
        "registerAdminConsoleCustomSetting",
        "registerChannelHeaderButtonAction",
        "registerPlugin",
        "registerReconnectHandler",
        "registerReducer",
        "registerRightHandSidebarComponent",
        "registerWebSocketEventHandler",
      ].sort(),
    );
    const header = calls.find(
      (call) => call.method === "registerChannelHeaderButtonAction",
    );
    expect(header?.args[3]).toBe("PagerDuty");
    const webSocket = calls.find(
      (call) => call.method === "registerWebSocketEventHandler",
    );
    expect(webSocket?.args[0]).toBe(linkChangedEvent);
    const setting = calls.find(
      (call) => call.method === "registerAdminConsoleCustomSetting",
    );
    expect(setting?.args[0]).toBe("RedirectURI");
    expect(setting?.args[2]).toEqual({ showTitle: true });
    expect(errors).toEqual([]);
  });

  it("unconfigured panel shows only a note", async () => {
    await tabTo(page, "PagerDuty");
    await page.keyboard.press("Enter");

    const panel = page.getByRole("region", { name: "PagerDuty account" });
    await panel.getByText("not configured on this server yet").waitFor();
    expect(await panel.getByRole("button").count()).toBe(0);
    await screenshotBothThemes(page, "not-configured");
  });

  it("reconnect rereads the status", async () => {
    server.configured = true;

    await page.evaluate(() => window.host.reconnect());

    await page.getByRole("button", { name: "Connect" }).waitFor();
    await screenshotBothThemes(page, "unlinked");
  });

  it("Connect links through the popup", async () => {
    await tabTo(page, "Connect");
    const popupPromise = page.waitForEvent("popup");
    await page.keyboard.press("Enter");
    const popup = await popupPromise;

    expect(new URL(popup.url()).pathname).toBe(`${pluginBase}/oauth/connect`);
    await popup.waitForEvent("close", { timeout: 5000 });
    await page.getByText(identity.name).waitFor();
    await page.getByText(identity.email).waitFor();
    const account = page.getByRole("link", { name: identity.account });
    expect(await account.getAttribute("href")).toBe(identity.html_url);
    await screenshotBothThemes(page, "linked");
  });

  it("Disconnect unlinks with the CSRF token", async () => {
    await tabTo(page, "Disconnect");
    await page.keyboard.press("Enter");

    await page.getByRole("button", { name: "Connect" }).waitFor();
    const post = server.requests.find((request) => request.method === "POST");
    expect(post?.url).toBe(`${pluginBase}/api/v1/disconnect`);
    expect(post?.headers["x-csrf-token"]).toBe(csrfToken);
    expect(server.linked).toBe(false);
    // The panel moves focus in an effect that may run after Connect appears.
    await page.waitForFunction(
      () => document.activeElement?.textContent === "Connect",
      undefined,
      { timeout: 2000 },
    );
  });

  it("WebSocket events update the panel", async () => {
    const statusRequests = () =>
      server.requests.filter((request) => request.url.endsWith("/status"))
        .length;
    const before = statusRequests();

    const handled = await page.evaluate(
      ([event, data]) => window.host.emitWebSocketEvent(event, data),
      [
        linkChangedEvent,
        { linked: true, ...identity, name: "Grace Hopper" },
      ] as const,
    );
    expect(handled).toBe(true);
    await page.getByText("Grace Hopper").waitFor();

    await page.evaluate(
      (event) => window.host.emitWebSocketEvent(event, { linked: false }),
      linkChangedEvent,
    );
    await page.getByRole("button", { name: "Connect" }).waitFor();
    expect(statusRequests()).toBe(before);
  });

  it("System Console shows the redirect URI", async () => {
    await context.grantPermissions(["clipboard-read", "clipboard-write"], {
      origin,
    });
    await page.evaluate(() => window.host.showAdmin(true));

    const input = page.getByLabel("OAuth redirect URI");
    await input.waitFor();
    const redirectUri = `http://127.0.0.1${pluginBase}/oauth/complete`;
    expect(await input.inputValue()).toBe(redirectUri);
    await page.getByText("Configuration saved").waitFor();

    await tabTo(page, "Copy");
    await page.keyboard.press("Enter");
    await page.getByText("Copied the redirect URI.").waitFor();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(
      redirectUri,
    );
    await screenshotBothThemes(page, "admin-configured");

    server.configured = false;
    await page.evaluate(() => window.host.saveConfig());
    await page.getByText("Not configured").waitFor();
    await screenshotBothThemes(page, "admin-unconfigured");
  });
});
