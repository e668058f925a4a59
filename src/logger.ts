import { pino, type Logger } from "pino";

export type { Logger };

/** Structured JSON logs. Tokens and authorization headers never reach them. */
export function createLogger(level: string): Logger {
  return pino({
    level,
    base: { service: "accrue" },
    redact: {
      paths: ["req.headers.authorization", "*.authorization", "*.token", "*.accessToken", "*.refreshToken", "*.secret"],
      censor: "[redacted]",
    },
  });
}
