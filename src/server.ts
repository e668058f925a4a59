import { EnvelopArmorPlugin } from "@escape.tech/graphql-armor";
import { GraphQLError, type ValidationContext } from "graphql";
import { createYoga, useReadinessCheck, type YogaServerInstance } from "graphql-yoga";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { createAuthenticator, type Authenticator } from "./auth/authenticate.ts";
import { createTokenVerifier } from "./auth/verify-token.ts";
import type { Viewer } from "./auth/viewer.ts";
import type { Clock } from "./clock.ts";
import type { Config } from "./config.ts";
import { createContext, type Context } from "./context.ts";
import type { Database } from "./db/database.ts";
import { maskError, useErrorCodes } from "./graphql/error-codes.ts";
import { useBodyLimit } from "./http/body-limit.ts";
import { useNulCharacterGuard } from "./graphql/use-nul-character-guard.ts";
import { createResponseCache, type ResponseCache } from "./graphql/response-cache.ts";
import { useCompiledQueries, type CompiledQueries } from "./graphql/use-compiled-queries.ts";
import { createCore, type CoreOptions } from "./core.ts";
import { corsPolicy } from "./http/cors-policy.ts";
import { createExportsHandler } from "./http/exports.ts";
import { handlePaymentWebhook, isPaymentWebhook } from "./http/payment-webhooks.ts";
import { readinessResponse } from "./http/readiness.ts";
import { createQuickBooksHandler } from "./http/quickbooks.ts";
import { createWebPagesHandler, isWebPageRequest } from "./http/web-pages.ts";
import type { QuickBooksClient } from "./integrations/quickbooks/client.ts";
import type { Scheduler } from "./jobs/scheduler.ts";
import type { Realtime } from "./realtime/realtime.ts";
import { attachWebSocketServer } from "./realtime/ws-server.ts";
import { buildSchema } from "./graphql/schema.ts";
import { handleCounted } from "./db/statement-ledger.ts";
import { createRequestLimits, type RequestLimits } from "./limits/request-limits.ts";
import type { Logger } from "./logger.ts";
import type { ServiceDeps } from "./services/deps.ts";

export type AppOptions = CoreOptions;

export interface App {
  config: Config;
  realtime: Realtime;
  scheduler: Scheduler;
  qbo: QuickBooksClient;
  db: Database;
  deps: ServiceDeps;
  clock: Clock;
  logger: Logger;
  auth: Authenticator;
  /** Cost, rate and time limits, and the readiness check. */
  limits: RequestLimits;
  /** Partner reads served from memory; absent when turned off (ACCRUE_RESPONSE_CACHE=false). */
  responseCache: ResponseCache | undefined;
  /** Queries run compiled (graphql-jit), on PostgreSQL unless turned off: how many operations are kept compiled, how many queries ran so. */
  compiledQueries: Pick<CompiledQueries, "size" | "runs"> | undefined;
  /** HS256 secret in use, for issuing our own tokens (dev and integration tokens). */
  jwtSecret: string | undefined;
  /** Starts listening; resolves with the base URL (http://host:port). */
  start(): Promise<string>;
  /**
   * Stops accepting connections at once, closes idle keep-alive ones, lets
   * requests in flight finish (up to the grace period) and closes each
   * connection as its last response ends, then closes the database: it
   * returns as soon as the last request is done.
   */
  stop(): Promise<void>;
  url: string | undefined;
}

/**
 * graphql-armor throws its rejections out of validation by default, where they
 * lose their place among validation errors and have no code; reported through
 * the validation context instead, they are ordinary validation errors.
 */
const reportAsValidationError = {
  propagateOnRejection: false,
  onReject: [
    (context: ValidationContext | null, error: GraphQLError) =>
      context?.reportError(new GraphQLError(error.message.replace(/^Syntax Error: /, ""), { extensions: { code: "GRAPHQL_VALIDATION_FAILED" } })),
  ],
};

type ServerContext = { req: IncomingMessage; res: ServerResponse };
type InitialContext = { request: Request; viewer?: Viewer | null; waitWritable?: () => Promise<void> };

/**
 * Assembles accrue: database (migrated), auth, services, GraphQL over HTTP.
 * Nothing listens until `start()`.
 */
export async function buildApp(config: Config, options: CoreOptions = {}): Promise<App> {
  const core = await createCore(config, options);
  const { logger, clock, db, deps, realtime, qbo, scheduler, jwtSecret } = core;
  const verify = createTokenVerifier({ ...config.auth, secret: jwtSecret, now: () => clock.now() });
  const auth = createAuthenticator(verify, db.prisma, clock, config.auth.clockToleranceSeconds, db);

  const limits = await createRequestLimits(config, db, logger);
  const responseCache = config.responseCache.enabled ? createResponseCache({ prisma: db.prisma, clock, maxBytes: config.responseCache.maxBytes }) : undefined;
  const schema = buildSchema();
  // The embedded database's time limit needs the interpreter (use-compiled-queries.ts).
  const compiledQueries = config.compiledQueries && db.kind === "postgres" ? await useCompiledQueries() : undefined;
  // GraphiQL's page (a bundle of several MB, kept in the heap as source once loaded) only where it is served.
  const renderGraphiQL = config.graphiql ? (await import("@graphql-yoga/render-graphiql")).renderGraphiQL : undefined;
  const yoga: YogaServerInstance<ServerContext, Context> = createYoga<ServerContext, Context>({
    schema,
    graphqlEndpoint: "/graphql",
    landingPage: false,
    graphiql: config.graphiql ? { title: "accrue", defaultQuery: "{ viewer { role subject } }" } : false,
    ...(renderGraphiQL ? { renderGraphiQL } : {}),
    // A database that is down or too slow is SERVICE_UNAVAILABLE (503), not a masked defect.
    maskedErrors: { maskError },
    // The cap is useBodyLimit's (below): the same errors, without a stream per request.
    maxRequestBodySize: false,
    cors: corsPolicy(config.limits.corsOrigins),
    logging: {
      debug: (...args) => logger.debug({ args }, "yoga"),
      info: (...args) => logger.info({ args }, "yoga"),
      warn: (...args) => logger.warn({ args }, "yoga"),
      error: (...args) => logger.error({ err: args[0] }, "yoga error"),
    },
    context: async (initial: InitialContext & ServerContext) => {
      // Over WebSocket the viewer comes from connectionParams (checked at connect);
      // over HTTP (and SSE) from the Authorization header.
      const viewer = initial.viewer !== undefined ? initial.viewer : await auth.viewerFromHeader(initial.request.headers.get("authorization"));
      return createContext(deps, viewer, realtime, initial.waitWritable);
    },
    plugins: [
      useBodyLimit(config.limits.maxBodyBytes),
      useErrorCodes(),
      useNulCharacterGuard(),
      // /health (yoga's) says the process is alive; /readyz that it can serve.
      useReadinessCheck({ endpoint: "/readyz", check: ({ fetchAPI }) => readinessResponse(limits.readiness, fetchAPI.Response) }),
      EnvelopArmorPlugin({
        maxDepth: { n: config.limits.maxDepth, ...reportAsValidationError },
        costLimit: { enabled: false }, // cost is the schema's own (lists count by their length): limits.plugin
        maxAliases: { n: 30, ...reportAsValidationError },
        maxDirectives: { n: 30, ...reportAsValidationError },
        maxTokens: { n: 10_000 },
        blockFieldSuggestion: { enabled: config.env === "production" },
      }),
      // First: the response cache and the limits wrap the execute function it sets.
      ...(compiledQueries ? [compiledQueries.plugin] : []),
      // Before the limits: a cached answer still spends its cost and runs under the time limit, which wraps it.
      ...(responseCache ? [responseCache.plugin] : []),
      limits.plugin,
    ],
  });

  const exportsHandler = createExportsHandler(deps, auth, realtime);
  const quickbooksHandler = createQuickBooksHandler(deps, qbo, config.quickbooks.webhookVerifierToken);
  const webPages = createWebPagesHandler();
  // Responses being written; at shutdown each is told its connection closes after it.
  const inFlight = new Set<ServerResponse>();
  let draining = false;
  const server: Server = createServer((req, res) => {
    inFlight.add(res);
    res.once("close", () => {
      inFlight.delete(res);
      // The connection it leaves idle goes too, so the last response ends the process's wait.
      if (draining) setImmediate(() => server.closeIdleConnections());
    });
    if (draining) res.setHeader("connection", "close");
    if (req.url?.startsWith("/exports/")) void exportsHandler(req, res);
    else if (isWebPageRequest(req.url)) webPages(req, res);
    else if (req.url?.startsWith("/integrations/quickbooks/") || req.url?.startsWith("/webhooks/quickbooks")) void quickbooksHandler(req, res);
    else if (isPaymentWebhook(req.url)) void handlePaymentWebhook(deps, req, res);
    else if (options.countStatements) void handleCounted(res, () => yoga.handle(req, res, { req, res }));
    else void yoga.handle(req, res, { req, res });
  });
  server.keepAliveTimeout = 5_000;
  const websockets = attachWebSocketServer(server, yoga as never, auth, clock, logger, { maxPayloadBytes: config.limits.maxBodyBytes });

  let url: string | undefined;
  let stopping: Promise<void> | undefined;

  const app: App = {
    config,
    realtime,
    scheduler,
    qbo,
    db,
    deps,
    clock,
    logger,
    auth,
    limits,
    responseCache,
    compiledQueries,
    jwtSecret,
    get url() {
      return url;
    },
    async start() {
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(config.port, config.host, () => {
          server.off("error", reject);
          resolve();
        });
      });
      const address = server.address() as AddressInfo;
      const host = config.host === "0.0.0.0" || config.host === "::" ? "localhost" : config.host;
      url = `http://${host}:${address.port}`;
      if (config.scheduler.enabled) scheduler.start();
      return url;
    },
    stop() {
      stopping ??= (async () => {
        // Synchronously, before anything is awaited: from here no connection
        // is accepted, idle keep-alive ones are closed, and every response
        // still to be written says "connection: close".
        draining = true;
        const drained = server.listening ? new Promise<void>((resolve) => server.close(() => resolve())) : Promise.resolve();
        server.closeIdleConnections();
        for (const res of inFlight) {
          if (!res.headersSent) res.setHeader("connection", "close");
          // A live feed over SSE never ends by itself; its client resumes from its cursor elsewhere.
          else if (String(res.getHeader("content-type") ?? "").startsWith("text/event-stream")) res.destroy();
        }
        const grace = setTimeout(() => server.closeAllConnections(), config.shutdownGraceMs);
        grace.unref();
        // Scheduled work finishes its tick meanwhile; WebSocket clients are told to reconnect elsewhere.
        await Promise.all([drained, websockets.close(), scheduler.stop()]);
        clearTimeout(grace);
        await limits.close();
        await core.close();
      })();
      return stopping;
    },
  };
  return app;
}
