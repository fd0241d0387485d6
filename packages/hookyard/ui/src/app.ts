import { get, portalGrant, post, signIn, signOut, storedKey } from "./api.js";
import { errorBox, field, h, replace } from "./dom.js";
import { takeFlash } from "./flash.js";
import { automatePage } from "./pages/automate.js";
import { overviewPage } from "./pages/overview.js";
import { binsPage, sourcePage, sourcesPage } from "./pages/receive.js";
import { requestPage } from "./pages/request.js";
import { endpointPage } from "./pages/endpoint.js";
import { messagePage } from "./pages/message.js";
import { appPage, appsPage } from "./pages/send.js";

/** A page: what it shows for the route's parameters; `cleanup` runs when another page opens. */
export interface PageView {
  title: string;
  body: HTMLElement;
  cleanup?: () => void;
}

type Route = [RegExp, (...params: string[]) => PageView | Promise<PageView>];

const ROUTES: Route[] = [
  [/^\/$/, () => overviewPage()],
  [/^\/apps$/, () => appsPage()],
  [/^\/apps\/([^/]+)$/, (app) => appPage(app)],
  [/^\/apps\/([^/]+)\/endpoints\/([^/]+)$/, (app, ep) => endpointPage(app, ep)],
  [/^\/apps\/([^/]+)\/messages\/([^/]+)$/, (app, msg) => messagePage(app, msg)],
  [/^\/sources$/, () => sourcesPage()],
  [/^\/sources\/([^/]+)$/, (source) => sourcePage(source)],
  [/^\/sources\/([^/]+)\/requests\/([^/]+)$/, (source, req) => requestPage(source, req)],
  [/^\/bins$/, () => binsPage()],
  [/^\/rules$/, () => automatePage()],
];

const NAV: [string, string][] = [
  ["#/", "Overview"],
  ["#/apps", "Send"],
  ["#/sources", "Receive"],
  ["#/bins", "Bins"],
  ["#/rules", "Automate"],
];

let current: PageView | null = null;
/** Each navigation's number: a page that finishes loading after another navigation is dropped. */
let navigation = 0;

/**
 * The customer app portal is this page at /portal: the link's fragment carries a token for one
 * application, and only that application's pages are shown.
 */
const PORTAL = location.pathname === "/portal";

function portalPath(path: string): string {
  const grant = portalGrant();
  if (grant === null) return path;
  const own = [grant.appId, grant.appUid].filter((k): k is string => k !== null);
  const match = /^\/apps\/([^/]+)(\/.*)?$/.exec(path);
  if (match !== null && own.includes(match[1]!)) return path;
  return `/apps/${grant.appId}`;
}

async function show(): Promise<void> {
  const root = document.getElementById("app")!;
  const mine = ++navigation;
  current?.cleanup?.();
  current = null;
  if (PORTAL) {
    const token = /[#&]token=([^&]+)/.exec(location.hash)?.[1];
    if (token !== undefined) {
      signIn(decodeURIComponent(token));
      history.replaceState(null, "", "/portal#/");
    }
    if (portalGrant() === null) {
      replace(
        root,
        h(
          "div",
          { class: "center" },
          h(
            "section",
            { class: "card signin" },
            h("h1", null, "This link has expired"),
            h(
              "p",
              null,
              "Ask the service that sent you here for a new link to manage your webhooks.",
            ),
          ),
        ),
      );
      document.title = "Webhooks";
      return;
    }
  }
  const hashPath = decodeURIComponent(location.hash.replace(/^#/, "")) || "/";
  const path = PORTAL ? portalPath(hashPath) : hashPath;
  if (!PORTAL && (storedKey() === null || path === "/signin")) {
    replace(root, signInPage());
    document.title = "Sign in · Hookyard";
    root.querySelector("input")?.focus();
    return;
  }
  const main = h("main", { id: "main", tabindex: "-1" });
  replace(root, PORTAL ? portalLayout(main) : layout(path, main));
  let view: PageView;
  try {
    const route = ROUTES.find(([pattern]) => pattern.test(path));
    if (route === undefined) throw new Error(`No page ${path}`);
    const params = route[0].exec(path)!.slice(1);
    view = await route[1](...params);
  } catch (err) {
    view = {
      title: "Error",
      body: h("section", null, h("h1", null, "Something went wrong"), errorBox(err)),
    };
  }
  if (mine !== navigation) {
    view.cleanup?.();
    return;
  }
  current = view;
  document.title = `${view.title} · Hookyard`;
  const flash = takeFlash();
  replace(
    main,
    flash === null ? null : h("p", { class: "ok-text", role: "status" }, flash),
    view.body,
  );
  main.focus();
}

/** Moves focus to the content (the URL's fragment is the route, so no #main jump). */
function skipLink(main: HTMLElement): HTMLElement {
  return h(
    "button",
    { type: "button", class: "skip", onclick: () => main.focus() },
    "Skip to content",
  );
}

function layout(path: string, main: HTMLElement): HTMLElement {
  const section = "/" + (path.split("/")[1] ?? "");
  return h(
    "div",
    { class: "shell" },
    skipLink(main),
    h(
      "header",
      null,
      h("a", { href: "#/", class: "brand" }, "Hookyard"),
      h(
        "nav",
        { "aria-label": "Main" },
        NAV.map(([href, text]) => {
          const target = href.slice(1);
          const active = target === "/" ? section === "/" : section === target;
          return h("a", { href, ...(active && { "aria-current": "page" }) }, text);
        }),
      ),
      h("button", { type: "button", class: "small", onclick: () => signOut() }, "Sign out"),
    ),
    main,
  );
}

function portalLayout(main: HTMLElement): HTMLElement {
  const grant = portalGrant()!;
  return h(
    "div",
    { class: "shell portal" },
    skipLink(main),
    h(
      "header",
      null,
      h("a", { href: "#/", class: "brand" }, "Webhooks"),
      h("span", { class: "muted" }, grant.readOnly ? "read only" : ""),
      h("span", { class: "spacer" }),
      h(
        "button",
        {
          type: "button",
          class: "small",
          onclick: () =>
            void post("/api/v1/auth/logout").finally(() => {
              sessionStorage.clear();
              void show();
            }),
        },
        "Sign out",
      ),
    ),
    main,
  );
}

function signInPage(): HTMLElement {
  const input = h("input", { type: "password", name: "key", autocomplete: "off", required: true });
  const message = h("div", { "aria-live": "polite" });
  const form = h(
    "form",
    { class: "card signin", "aria-labelledby": "signin-title" },
    h("h1", { id: "signin-title" }, "Sign in to Hookyard"),
    h(
      "p",
      { class: "muted" },
      "Use the admin API key (the one printed at first start, or HOOKYARD_API_KEY). It is kept in this tab only.",
    ),
    field("API key", input),
    h("button", { type: "submit" }, "Sign in"),
    message,
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    signIn(input.value.trim());
    get("/api/v1/app?limit=1").then(
      () => {
        location.hash = "#/";
        void show();
      },
      (err: unknown) => {
        sessionStorage.clear();
        replace(message, errorBox(err));
      },
    );
  });
  return h("div", { class: "center" }, form);
}

window.addEventListener("hashchange", () => void show());
void show();
