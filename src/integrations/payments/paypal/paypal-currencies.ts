/**
 * Currencies PayPal Payouts pays in, with the decimals PayPal takes for each
 * (developer.paypal.com/docs/reports/reference/paypal-supported-currencies:
 * HUF, JPY and TWD "do not support decimals", although ISO 4217 gives HUF and
 * TWD two). An amount with more places than PayPal takes is not sent.
 */
export const PAYPAL_CURRENCY_DECIMALS: Readonly<Record<string, number>> = {
  AUD: 2,
  BRL: 2,
  CAD: 2,
  CNY: 2,
  CZK: 2,
  DKK: 2,
  EUR: 2,
  HKD: 2,
  HUF: 0,
  ILS: 2,
  JPY: 0,
  MYR: 2,
  MXN: 2,
  TWD: 0,
  NZD: 2,
  NOK: 2,
  PHP: 2,
  PLN: 2,
  GBP: 2,
  SGD: 2,
  SEK: 2,
  CHF: 2,
  THB: 2,
  USD: 2,
};
