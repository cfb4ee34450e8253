import { pluginId } from "./manifest";

// Response of GET /api/v1/status.
export interface LinkStatus {
  configured: boolean;
  linked: boolean;
  name?: string;
  email?: string;
  account?: string;
  html_url?: string;
  connect_path: string;
}

// Response of GET /api/v1/admin/status, readable by system admins only.
export interface AdminStatus {
  configured: boolean;
  has_credentials: boolean;
  problems: string[];
  site_url_set: boolean;
  redirect_uri: string | null;
}

// Response of POST /api/v1/disconnect.
export interface DisconnectResult {
  linked: false;
  removed: boolean;
}

// Error for a response whose status is not 2xx. `message` carries the
// server's `error` field when the body has one.
export class RequestError extends Error {
  readonly status: number;

  constructor(status: number, message: string) {
    super(message);
    this.name = "RequestError";
    this.status = status;
  }
}

// Returns the value of the MMCSRF cookie that the Mattermost server sets at
// login, or an empty string when the cookie is missing.
export function readCsrfToken(cookie: string = document.cookie): string {
  for (const part of cookie.split(";")) {
    const [name, ...value] = part.trim().split("=");
    if (name === "MMCSRF") {
      return decodeURIComponent(value.join("="));
    }
  }

  return "";
}

// Returns the URL of a plugin route, such as `/api/v1/status`, under the
// site URL. The site URL may contain a subpath and a trailing slash.
export function pluginUrl(siteUrl: string, route: string): string {
  return `${siteUrl.replace(/\/+$/, "")}/plugins/${pluginId}${route}`;
}

async function requestJson<T>(url: string, init: RequestInit): Promise<T> {
  const headers = new Headers(init.headers);
  headers.set("X-Requested-With", "XMLHttpRequest");
  headers.set("Accept", "application/json");
  if (init.method !== undefined && init.method !== "GET") {
    headers.set("X-CSRF-Token", readCsrfToken());
  }

  const response = await fetch(url, {
    ...init,
    headers,
    credentials: "same-origin",
  });

  if (!response.ok) {
    let message = `Request to ${url} failed with HTTP ${response.status}.`;
    try {
      const body = (await response.json()) as { error?: unknown };
      if (typeof body.error === "string" && body.error !== "") {
        message = body.error;
      }
    } catch {
      // The body is not JSON, so the status line is all there is to report.
    }
    throw new RequestError(response.status, message);
  }

  return (await response.json()) as T;
}

export function getStatus(siteUrl: string): Promise<LinkStatus> {
  return requestJson(pluginUrl(siteUrl, "/api/v1/status"), { method: "GET" });
}

export function postDisconnect(siteUrl: string): Promise<DisconnectResult> {
  return requestJson(pluginUrl(siteUrl, "/api/v1/disconnect"), {
    method: "POST",
  });
}

export function getAdminStatus(siteUrl: string): Promise<AdminStatus> {
  return requestJson(pluginUrl(siteUrl, "/api/v1/admin/status"), {
    method: "GET",
  });
}
