// Stand-in for the Mattermost web app in the browser test. It sets the
// React, ReactDOM, Redux and ReactRedux globals and \`window.registerPlugin\`.
// It passes plugins a registry and a Redux store that contains
// \`entities.general.config.SiteURL\` and each plugin reducer under
// \`plugins-<plugin id>\`. It sets theme CSS variables on the document root
// and passes \`theme\` to sidebar components. Tests drive it through
// \`window.host\`.
import type * as ReactModule from "react";
import type * as ReactDOMModule from "react-dom";
import type * as ReactReduxModule from "react-redux";
import type * as ReduxModule from "redux";

interface HostGlobals {
  React: typeof ReactModule;
  ReactDOM: typeof ReactDOMModule;
  Redux: typeof ReduxModule;
  ReactRedux: typeof ReactReduxModule;
}

const { React, ReactDOM, Redux, ReactRedux } = window as unknown as HostGlobals;
const h = React.createElement;

type Theme = Record<string, string>;

// Colors of the Denim and Onyx themes that Mattermost ships.
// NOTE: copied from memory of Mattermost 9.x, not checked against its source.
const themes: Record<string, Theme> = {
  light: {
    type: "Denim",
    sidebarBg: "#1e325c",
    sidebarText: "#ffffff",
    centerChannelBg: "#ffffff",
    centerChannelColor: "#3f4350",
    buttonBg: "#1c58d9",
    buttonColor: "#ffffff",
    errorTextColor: "#d24b4e",
    linkColor: "#386fe5",
    onlineIndicator: "#3db887",
  },
  dark: {
    type: "Onyx",
    sidebarBg: "#202228",
    sidebarText: "#ffffff",
    centerChannelBg: "#191b1f",
    centerChannelColor: "#e3e4e8",
    buttonBg: "#4a7ce8",
    buttonColor: "#ffffff",
    errorTextColor: "#da6c6e",
    linkColor: "#5d89ea",
    onlineIndicator: "#3db887",
  },
};

// CSS variables that the web app sets on the document root from the theme.
const themeVariables: Record<string, string> = {
  sidebarBg: "--sidebar-bg",
  sidebarText: "--sidebar-text",
  centerChannelBg: "--center-channel-bg",
  centerChannelColor: "--center-channel-color",
  buttonBg: "--button-bg",
  buttonColor: "--button-color",
  errorTextColor: "--error-text",
  linkColor: "--link-color",
  onlineIndicator: "--online-indicator",
};

// Display name and help text of the `custom` setting that plugin.json is
// expected to define with the key RedirectURI.
const customSettings: Record<
  string,
  { display_name: string; help_text: string }
> = {
  RedirectURI: {
    display_name: "OAuth redirect URI",
    help_text:
      "Register this URI as the redirect URL of the OAuth app in PagerDuty.",
  },
};

interface RhsRegistration {
  id: string;
  component: ReactModule.ComponentType<{ theme: Theme }>;
  title: ReactModule.ReactNode;
}

interface HeaderButton {
  id: string;
  icon: ReactModule.ReactNode;
  action: () => void;
  tooltip: ReactModule.ReactNode;
}

interface AdminSetting {
  key: string;
  component: ReactModule.ComponentType<Record<string, unknown>>;
  showTitle: boolean;
}

interface HostState {
  rhsPluggableId: string | null;
  theme: Theme;
  showAdmin: boolean;
  configVersion: number;
}

const registrations = {
  rhs: [] as RhsRegistration[],
  headerButtons: [] as HeaderButton[],
  adminSettings: [] as AdminSetting[],
  webSocketHandlers: new Map<string, (message: unknown) => void>(),
  reconnectHandlers: [] as (() => void)[],
  reducers: {} as Record<string, ReduxModule.Reducer>,
};

// Names and arguments of each registry call, for the test to inspect.
const calls: { method: string; args: unknown[] }[] = [];

const hostReducer: ReduxModule.Reducer<HostState> = (
  state = {
    rhsPluggableId: null,
    theme: themes.light,
    showAdmin: false,
    configVersion: 0,
  },
  action,
) => {
  const typed = action;
  switch (typed.type) {
    case "HOST_SET_RHS":
      return { ...state, rhsPluggableId: typed.id as string | null };
    case "HOST_SET_THEME":
      return { ...state, theme: typed.theme as Theme };
    case "HOST_SHOW_ADMIN":
      return { ...state, showAdmin: typed.show as boolean };
    case "HOST_CONFIG_SAVED":
      return { ...state, configVersion: state.configVersion + 1 };
    default:
      return state;
  }
};

const config = { SiteURL: window.location.origin };
const entities = Redux.combineReducers({
  general: () => ({ config }),
});

function rootReducer() {
  return Redux.combineReducers({
    entities,
    host: hostReducer,
    ...registrations.reducers,
  });
}

// The web app's store runs thunks, so plugins may dispatch functions.
const thunk: ReduxModule.Middleware = (api) => (next) => (action: unknown) => {
  if (typeof action !== "function") {
    return next(action as ReduxModule.AnyAction) as unknown;
  }
  const dispatch = (thunkAction: ReduxModule.AnyAction) =>
    api.dispatch(thunkAction);
  const getState = () => api.getState() as unknown;

  return (action as (d: unknown, g: unknown) => unknown)(dispatch, getState);
};

const store = Redux.createStore(rootReducer(), Redux.applyMiddleware(thunk));

function hostState(): HostState {
  return (store.getState() as { host: HostState }).host;
}

let nextId = 1;

function record(method: string, args: unknown[]) {
  calls.push({ method, args: args.map(describeArgument) });
}

function describeArgument(value: unknown): unknown {
  if (typeof value === "function") {
    return `function ${(value as { name?: string }).name ?? ""}`.trim();
  }
  if (React.isValidElement(value)) {
    return "element";
  }
  return value;
}

const registry = {
  registerRightHandSidebarComponent(
    component: RhsRegistration["component"],
    title: ReactModule.ReactNode,
  ) {
    record("registerRightHandSidebarComponent", [component, title]);
    const id = `rhs-${nextId++}`;
    registrations.rhs.push({ id, component, title });
    render();

    const setRhs = (open: boolean | "toggle") => () => {
      const isOpen = hostState().rhsPluggableId === id;
      const show = open === "toggle" ? !isOpen : open;
      store.dispatch({ type: "HOST_SET_RHS", id: show ? id : null });
    };

    return {
      id,
      showRHSPlugin: setRhs(true),
      hideRHSPlugin: setRhs(false),
      toggleRHSPlugin: setRhs("toggle"),
    };
  },
  registerChannelHeaderButtonAction(
    icon: ReactModule.ReactNode,
    action: () => void,
    dropdownText: ReactModule.ReactNode,
    tooltipText: ReactModule.ReactNode,
  ) {
    record("registerChannelHeaderButtonAction", [
      icon,
      action,
      dropdownText,
      tooltipText,
    ]);
    const id = `header-${nextId++}`;
    registrations.headerButtons.push({
      id,
      icon,
      action,
      tooltip: tooltipText,
    });
    render();
    return id;
  },
  registerReducer(reducer: ReduxModule.Reducer) {
    record("registerReducer", [reducer]);
    registrations.reducers[`plugins-${currentPluginId}`] = reducer;
    store.replaceReducer(rootReducer());
  },
  registerWebSocketEventHandler(event: string, handler: (m: unknown) => void) {
    record("registerWebSocketEventHandler", [event, handler]);
    registrations.webSocketHandlers.set(event, handler);
  },
  registerReconnectHandler(handler: () => void) {
    record("registerReconnectHandler", [handler]);
    registrations.reconnectHandlers.push(handler);
  },
  registerAdminConsoleCustomSetting(
    key: string,
    component: AdminSetting["component"],
    options: { showTitle?: boolean } = {},
  ) {
    record("registerAdminConsoleCustomSetting", [key, component, options]);
    registrations.adminSettings.push({
      key,
      component,
      showTitle: options.showTitle ?? false,
    });
    render();
  },
};

let currentPluginId = "";

// The host uses a string tooltip as the button's accessible name.
function tooltipText(tooltip: ReactModule.ReactNode): string {
  return typeof tooltip === "string" ? tooltip : "";
}

function HeaderBar() {
  return h(
    "div",
    { className: "channel-header", role: "banner" },
    h("span", { className: "channel-name" }, "Town Square"),
    ...registrations.headerButtons.map((button) =>
      h(
        "button",
        {
          key: button.id,
          type: "button",
          className: "channel-header__icon",
          "aria-label": tooltipText(button.tooltip),
          title: tooltipText(button.tooltip),
          onClick: () => button.action(),
        },
        button.icon,
      ),
    ),
  );
}

function Sidebar() {
  const { rhsPluggableId, theme } = ReactRedux.useSelector(
    (state: { host: HostState }) => state.host,
  );
  const registration = registrations.rhs.find((r) => r.id === rhsPluggableId);
  if (registration === undefined) {
    return null;
  }
  return h(
    "aside",
    { className: "sidebar--right", "aria-label": "Right sidebar" },
    h("div", { className: "sidebar--right__title" }, registration.title),
    h(registration.component, { theme }),
  );
}

function AdminConsole() {
  const { showAdmin, configVersion } = ReactRedux.useSelector(
    (state: { host: HostState }) => state.host,
  );
  const savedConfig = React.useMemo(
    () => ({ PluginSettings: { version: configVersion } }),
    [configVersion],
  );
  if (!showAdmin) {
    return null;
  }
  return h(
    "main",
    { className: "admin-console", "aria-label": "System Console" },
    h("h1", null, "PagerDuty"),
    ...registrations.adminSettings.map((setting) => {
      const definition = customSettings[setting.key];
      return h(
        "div",
        { key: setting.key, className: "form-group" },
        setting.showTitle
          ? h("label", { className: "control-label" }, definition?.display_name)
          : null,
        h(setting.component, {
          id: setting.key,
          label: definition?.display_name,
          helpText: definition?.help_text,
          value: undefined,
          disabled: false,
          config: savedConfig,
          license: {},
          setByEnv: false,
          onChange: () => {},
          setSaveNeeded: () => {},
          registerSaveAction: () => {},
          unRegisterSaveAction: () => {},
        }),
      );
    }),
  );
}

function App() {
  return h(
    React.Fragment,
    null,
    h(HeaderBar),
    h("div", { className: "layout" }, h(AdminConsole), h(Sidebar)),
  );
}

function render() {
  ReactDOM.render(
    h(ReactRedux.Provider, { store }, h(App)),
    document.getElementById("root"),
  );
}

function applyTheme(name: string) {
  const theme = themes[name];
  for (const [field, variable] of Object.entries(themeVariables)) {
    document.documentElement.style.setProperty(variable, theme[field]);
  }
  store.dispatch({ type: "HOST_SET_THEME", theme });
}

let seq = 0;

(window as unknown as { registerPlugin: unknown }).registerPlugin = (
  pluginId: string,
  plugin: { initialize(registry: unknown, store: unknown): void },
) => {
  currentPluginId = pluginId;
  calls.push({ method: "registerPlugin", args: [pluginId] });
  plugin.initialize(registry, store);
  render();
};

(window as unknown as { host: unknown }).host = {
  calls,
  setTheme: applyTheme,
  showAdmin(show: boolean) {
    store.dispatch({ type: "HOST_SHOW_ADMIN", show });
  },
  saveConfig() {
    store.dispatch({ type: "HOST_CONFIG_SAVED" });
  },
  // Delivers an event as the web app's WebSocket client does.
  emitWebSocketEvent(event: string, data: unknown) {
    const handler = registrations.webSocketHandlers.get(event);
    handler?.({ event, data, broadcast: {}, seq: seq++ });
    return handler !== undefined;
  },
  reconnect() {
    for (const handler of registrations.reconnectHandlers) {
      handler();
    }
  },
};

applyTheme("light");
render();
