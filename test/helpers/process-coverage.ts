/**
 * Coverage of the processes tests start (npm start, npm run worker, the
 * token and reconcile commands): with ACCRUE_PROCESS_COVERAGE set (CI sets
 * it with --coverage), every child process inherits NODE_V8_COVERAGE and
 * Node writes its raw V8 coverage there on exit, with the source maps of
 * the TypeScript it ran. Set here, in each test worker, rather than for the
 * whole run: the workers themselves are measured by vitest, not twice.
 * A process killed with SIGKILL writes nothing; those tests' survivors do.
 */
if (process.env.ACCRUE_PROCESS_COVERAGE) process.env.NODE_V8_COVERAGE = process.env.ACCRUE_PROCESS_COVERAGE;
