import { pino, type DestinationStream, type Logger } from "pino";

export type { Logger };

/** Structured JSON logs. Tokens and authorization headers never reach them. */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  const options = {
    level,
    base: { service: "accrue" },
    redact: {
      paths: ["req.headers.authorization", "*.authorization", "*.token", "*.accessToken", "*.refreshToken", "*.secret"],
      censor: "[redacted]",
    },
  };
  // A destination is for tests that read every line the app writes.
  return destination ? pino(options, destination) : pino(options);
}
