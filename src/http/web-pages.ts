import { existsSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { fileURLToPath } from "node:url";
import sirv from "sirv";

/** Where `npm install` (scripts/generate.mjs) builds the portal and dashboard. */
export const WEB_DIST = fileURLToPath(new URL("../../web/dist/", import.meta.url));

const PREFIXES = ["/portal", "/dashboard", "/web-assets/"];

/** Whether a request is for the web pages rather than the API. */
export function isWebPageRequest(url: string | undefined): boolean {
  return !!url && PREFIXES.some((prefix) => url === prefix || url.startsWith(prefix.endsWith("/") ? prefix : `${prefix}/`) || url.startsWith(`${prefix}?`));
}

/**
 * Everything a page loads comes from this server (scripts, styles, the API
 * and its socket), which the policy states; tokens ride in the fragment and
 * are never sent on as a referrer. The portal may be framed by the brand's
 * own app (it takes its token by postMessage); the dashboard never is.
 */
function securityHeaders(res: ServerResponse, pathname: string): void {
  const framable = pathname.startsWith("/portal");
  res.setHeader(
    "content-security-policy",
    `default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors ${framable ? "*" : "'none'"}`,
  );
  if (!framable) res.setHeader("x-frame-options", "DENY");
  res.setHeader("referrer-policy", "no-referrer");
  res.setHeader("x-content-type-options", "nosniff");
  // Built files carry a content hash in their names; the pages themselves must be re-read.
  res.setHeader("cache-control", pathname.startsWith("/web-assets/") ? "public, max-age=31536000, immutable" : "no-cache");
}

/**
 * Serves the built partner portal (/portal/), operator dashboard
 * (/dashboard/) and their assets, GET and HEAD only. Without a build the
 * pages answer 404 saying how to build them.
 */
export function createWebPagesHandler(dist = WEB_DIST): (req: IncomingMessage, res: ServerResponse) => void {
  const built = existsSync(dist);
  const serve = built ? sirv(dist, { etag: true, dotfiles: false, extensions: ["html"], setHeaders: securityHeaders }) : undefined;
  const notFound = (res: ServerResponse, message: string) => {
    res.statusCode = 404;
    res.setHeader("content-type", "text/plain; charset=utf-8");
    res.end(message);
  };
  return (req, res) => {
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.statusCode = 405;
      res.setHeader("allow", "GET, HEAD");
      res.end();
      return;
    }
    // /portal and /dashboard without their slash: the pages live in folders.
    const path = req.url!.split("?")[0]!;
    if (path === "/portal" || path === "/dashboard") {
      res.statusCode = 308;
      res.setHeader("location", `${path}/${req.url!.slice(path.length)}`);
      res.end();
      return;
    }
    if (!serve) return notFound(res, "The web pages are not built: run `npm run build:web` (npm install does it).");
    serve(req, res, () => notFound(res, "Not found."));
  };
}
