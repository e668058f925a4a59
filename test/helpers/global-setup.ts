/**
 * In CI (ACCRUE_REQUIRE_SERVICES=1) the PostgreSQL and Redis tests are
 * required: a missing TEST_DATABASE_URL or REDIS_URL fails the run here
 * instead of letting those tests skip.
 */
export default function setup(): void {
  if (process.env.ACCRUE_REQUIRE_SERVICES === "1") {
    const missing = ["TEST_DATABASE_URL", "REDIS_URL"].filter((name) => !process.env[name]);
    if (missing.length > 0) {
      throw new Error(`ACCRUE_REQUIRE_SERVICES=1 but ${missing.join(" and ")} ${missing.length > 1 ? "are" : "is"} not set`);
    }
  }
}
