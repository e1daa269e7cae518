/**
 * A tiny History API router: the path as React state, `navigate` to change it and `Link`
 * for anchors that navigate without reloading the page.
 */
import { useEffect, useState, type AnchorHTMLAttributes, type MouseEvent } from "react";

const CHANGE = "sommelier:navigate";

/** Changes the path; `notice` travels in history state (a message for the next screen). */
export function navigate(path: string, options: { replace?: boolean; notice?: string } = {}): void {
  const state = options.notice === undefined ? null : { notice: options.notice };
  if (path === location.pathname && state === null) return;
  if (options.replace) history.replaceState(state, "", path);
  else history.pushState(state, "", path);
  window.dispatchEvent(new Event(CHANGE));
  window.scrollTo(0, 0);
}

/** The notice the previous screen left with `navigate`, if any. */
export function currentNotice(): string | undefined {
  const state = history.state as { notice?: unknown } | null;
  return typeof state?.notice === "string" ? state.notice : undefined;
}

export function usePath(): string {
  const [path, setPath] = useState(location.pathname);
  useEffect(() => {
    const update = () => setPath(location.pathname);
    window.addEventListener("popstate", update);
    window.addEventListener(CHANGE, update);
    return () => {
      window.removeEventListener("popstate", update);
      window.removeEventListener(CHANGE, update);
    };
  }, []);
  return path;
}

export type Route =
  | { name: "landing" }
  | { name: "join"; code: string }
  | { name: "play"; code: string }
  | { name: "dashboard" }
  | { name: "editor" }
  | { name: "host-session"; code: string }
  | { name: "not-found" };

export function matchRoute(path: string): Route {
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  const [first, second, ...rest] = parts;
  if (rest.length > 0) return { name: "not-found" };
  if (first === undefined) return { name: "landing" };
  if (first === "join" && second !== undefined) return { name: "join", code: second };
  if (first === "join") return { name: "landing" };
  if (first === "play" && second !== undefined) return { name: "play", code: second };
  if (first === "host" && second === undefined) return { name: "dashboard" };
  if (first === "host" && second === "new") return { name: "editor" };
  if (first === "host" && second !== undefined) return { name: "host-session", code: second };
  return { name: "not-found" };
}

/** An anchor that navigates in place (a modified click still opens a new tab). */
export function Link({ href, onClick, ...rest }: AnchorHTMLAttributes<HTMLAnchorElement> & { href: string }) {
  const click = (event: MouseEvent<HTMLAnchorElement>) => {
    onClick?.(event);
    if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    navigate(href);
  };
  return <a href={href} onClick={click} {...rest} />;
}
