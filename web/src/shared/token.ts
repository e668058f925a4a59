/**
 * Where a page gets its bearer token: the URL fragment (`#token=…`, never a
 * query string: fragments are not sent to servers nor kept in their logs),
 * or a postMessage from the page that embeds this one. The fragment is
 * removed from the address bar at once; the token is kept for this tab only.
 */
const STORAGE_KEY = "accrue.token";

export function takeTokenFromLocation(): string | null {
  const fragment = new URLSearchParams(window.location.hash.slice(1));
  const fromFragment = fragment.get("token");
  if (fromFragment) {
    sessionStorage.setItem(STORAGE_KEY, fromFragment);
    history.replaceState(null, "", window.location.pathname + window.location.search);
    return fromFragment;
  }
  return sessionStorage.getItem(STORAGE_KEY);
}

export function rememberToken(token: string): void {
  sessionStorage.setItem(STORAGE_KEY, token);
}

export function forgetToken(): void {
  sessionStorage.removeItem(STORAGE_KEY);
}

/**
 * An embedding page (the brand's own app) sends `{ type: "accrue:token", token }`
 * to this frame, first when told `{ type: "accrue:ready" }`, and again with a
 * fresh token before the last one expires. Only the parent window is heard.
 */
export function listenForEmbedderToken(onToken: (token: string) => void): () => void {
  if (window.parent === window) return () => {};
  const listener = (event: MessageEvent) => {
    if (event.source !== window.parent) return;
    const data = event.data as { type?: unknown; token?: unknown } | null;
    if (data?.type === "accrue:token" && typeof data.token === "string" && data.token.length > 0) onToken(data.token);
  };
  window.addEventListener("message", listener);
  window.parent.postMessage({ type: "accrue:ready" }, "*");
  return () => window.removeEventListener("message", listener);
}
