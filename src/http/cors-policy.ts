/** What yoga's `cors` option takes (whatwg-node's CORSOptions, or false for no CORS headers). */
type CorsOptions = { origin?: string[] | string; methods?: string[]; allowedHeaders?: string[]; exposedHeaders?: string[]; credentials?: boolean; maxAge?: number } | false;

const METHODS = ["GET", "POST", "OPTIONS"];
const ALLOWED_HEADERS = ["authorization", "content-type", "accept"];
/** A browser may reuse a preflight answer this long. */
const MAX_AGE_SECONDS = 600;

/**
 * CORS for yoga from the configured allow-list (ACCRUE_CORS_ORIGINS). An
 * origin on the list is named back, and only it; any other gets no CORS
 * headers at all, so its page cannot read the answer (yoga's default
 * reflects every origin). Never `Access-Control-Allow-Credentials`: accrue
 * authenticates by bearer token, not by cookie, so a browser needs no
 * credentials mode. `*` allows any origin, without credentials.
 */
export function corsPolicy(origins: readonly string[] | "*"): false | ((request: Request) => CorsOptions) {
  if (origins !== "*" && origins.length === 0) return false;
  const allowed = origins === "*" ? undefined : new Set(origins);
  return (request) => {
    const origin = request.headers.get("origin");
    if (!origin || (allowed && !allowed.has(origin))) return false;
    // Told "*", whatwg-node names the request's own origin back with
    // `Vary: Origin` (caches must keep one answer per origin); it is told so
    // only for an allowed origin.
    return { origin: "*", methods: METHODS, allowedHeaders: ALLOWED_HEADERS, credentials: false, maxAge: MAX_AGE_SECONDS };
  };
}
