import type { CurrencyCode } from "../../../domain/currency.ts";
import { minorUnitsOf } from "../../../domain/currency.ts";

/**
 * Stripe amounts are integers in "the smallest currency unit", which is
 * ISO 4217's minor unit except where Stripe's currency page
 * (docs.stripe.com/currencies, "zero-decimal" and "special cases"; not in
 * shared/reference) says otherwise: ISK and UGX travel as two-decimal values
 * whose decimals are always 00, and MGA is zero-decimal although ISO gives it
 * two. Three-decimal currencies must be sent as a multiple of 10.
 */
const STRIPE_DIGITS: Readonly<Record<string, number>> = { ISK: 2, UGX: 2, MGA: 0 };
/** The wire integer must be a multiple of this (the decimals Stripe carries but the currency does not use). */
const STRIPE_STEP: Readonly<Record<string, number>> = { ISK: 100, UGX: 100, BHD: 10, JOD: 10, KWD: 10, OMR: 10, TND: 10 };

export function stripeDigits(currency: CurrencyCode): number {
  return STRIPE_DIGITS[currency] ?? minorUnitsOf(currency);
}

export function stripeStep(currency: CurrencyCode): number {
  return STRIPE_STEP[currency] ?? 1;
}
