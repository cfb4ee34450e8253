import { combineReducers, createStore } from "redux";
import type { Reducer } from "redux";
import { vi } from "vitest";

import { reducer, stateKey } from "../src/state";

export const siteUrl = "http://mattermost.test/sub";

// Returns a Redux store shaped like the web app's: the client config under
// `entities.general.config` and the plugin's reducer under its state key.
export function createTestStore(config: Record<string, string> = {}) {
  const initialGeneral = { config: { SiteURL: siteUrl, ...config } };
  const general: Reducer<typeof initialGeneral> = (state = initialGeneral) =>
    state;

  return createStore(
    combineReducers({
      entities: combineReducers({ general }),
      [stateKey]: reducer,
    }),
  );
}

// Response body and status of one stubbed request.
export interface StubResponse {
  status?: number;
  body: unknown;
}

// Replaces `fetch` with a stub that replies to each request with the handler's
// response for its method and URL, and records the requests.
export function stubFetch(
  handler: (method: string, url: string) => StubResponse,
) {
  // The plugin's client always passes the URL as a string.
  const fetchMock = vi.fn((input: RequestInfo | URL, init?: RequestInit) => {
    const method = init?.method ?? "GET";
    const { status = 200, body } = handler(method, input as string);

    return Promise.resolve(
      new Response(JSON.stringify(body), {
        status,
        headers: { "Content-Type": "application/json" },
      }),
    );
  });
  vi.stubGlobal("fetch", fetchMock);

  return fetchMock;
}

// Returns the headers that the stubbed `fetch` received in call `index`.
export function requestHeaders(
  fetchMock: ReturnType<typeof stubFetch>,
  index: number,
): Headers {
  const init = fetchMock.mock.calls[index]?.[1];

  return new Headers(init?.headers);
}
