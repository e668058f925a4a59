/**
 * Display only. Amounts arrive as exact decimal strings and are formatted as
 * strings (Intl formats a numeric string without turning it into a float).
 */
export interface MoneyLike {
  amount: string;
  currency: string;
}

const formatters = new Map<string, Intl.NumberFormat>();

export function formatMoney(money: MoneyLike | null | undefined): string {
  if (!money) return "–";
  let formatter = formatters.get(money.currency);
  if (!formatter) {
    formatter = new Intl.NumberFormat("en-US", { style: "currency", currency: money.currency });
    formatters.set(money.currency, formatter);
  }
  return formatter.format(money.amount as Intl.StringNumericLiteral);
}

const dateFormatter = new Intl.DateTimeFormat("en-US", { dateStyle: "medium" });
const dateTimeFormatter = new Intl.DateTimeFormat("en-US", { dateStyle: "medium", timeStyle: "short" });

export function formatDate(iso: string | null | undefined): string {
  return iso ? dateFormatter.format(new Date(iso)) : "–";
}

export function formatDateTime(iso: string | null | undefined): string {
  return iso ? dateTimeFormatter.format(new Date(iso)) : "–";
}

/** A calendar date (YYYY-MM-DD) as written, without a time zone shifting it. */
export function formatLocalDate(date: string | null | undefined): string {
  if (!date) return "–";
  const [year, month, day] = date.split("-").map(Number) as [number, number, number];
  return new Intl.DateTimeFormat("en-US", { dateStyle: "medium", timeZone: "UTC" }).format(new Date(Date.UTC(year, month - 1, day)));
}

export function isoDate(date: Date): string {
  return date.toISOString().slice(0, 10);
}

export function daysAgo(days: number, from = new Date()): string {
  return isoDate(new Date(from.getTime() - days * 86_400_000));
}

export function humanize(code: string): string {
  return code.charAt(0) + code.slice(1).toLowerCase().replaceAll("_", " ");
}

/** A GraphQL or network error as one sentence for the page. */
export function errorMessage(error: { message: string; graphQLErrors?: readonly { message: string; extensions?: Record<string, unknown> }[] } | undefined): string | null {
  if (!error) return null;
  const first = error.graphQLErrors?.[0];
  if (first?.extensions?.code === "FORBIDDEN") return "This token may not see this. Sign in with an operator's token.";
  if (first?.extensions?.code === "UNAUTHENTICATED") return "The token was refused (expired or invalid). Open the page again with a new link.";
  return first?.message ?? error.message;
}
