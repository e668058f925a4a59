import { Decimal } from "decimal.js";

/**
 * The money oracle's reference model: what each partner earned, was paid and
 * is owed, written from the rules in DESIGN.md and nothing of the product's
 * code (no reversedShare, no bucketOf, no reconcile). It keeps its own lines
 * and payouts and predicts, for every operation, whether it takes effect and
 * what it books. Amounts are decimal.js, rounded ROUND_HALF_UP to cents.
 *
 * Rules beyond DESIGN.md's wording that it holds the product to (the money
 * defects of issue 10):
 * - a correction may not take a line's net (the line with its adjustments
 *   and refund shares) below zero;
 * - a full refund nets the sale's line to zero, its adjustments included,
 *   paid or not;
 * - a write-off covers only a negative balance no later change can undo
 *   (every negative payable line belongs to a paid line);
 * - a bounced payout was not paid: paid and lifetimeEarned are what really
 *   happened, and the money is payable again;
 * - a draft left with no lines is cancelled, so it blocks nothing;
 * - issue 15 ("Payouts that move money"): sending is its own step after
 *   approval; the provider's confirmation pays the payout as an operator's
 *   payment would; a failure ("nothing was sent") puts its lines back to
 *   payable and is final; a return after paid "books the money back as the
 *   bounce path does, without inflating totals", once, and the payout is
 *   RETURNED;
 * - through an asynchronous rail (PayPal), docs/payment-rails.md's states:
 *   a sent payout is PROCESSING, "handed to a provider", its lines still in
 *   the payout ("it is open, so they cannot be paid twice"), until the
 *   provider confirms (PAID) or refuses (FAILED); an unclaimed payment
 *   "stays PROCESSING"; money that comes back before it was ever confirmed
 *   is a failure (FAILED, lines payable again), after it, a return.
 */

const D = Decimal.clone({ precision: 40, rounding: Decimal.ROUND_HALF_UP });
export type Dec = Decimal;
export const dec = (value: string | number | Decimal) => new D(value);
const ZERO = new D(0);
const cents = (value: Decimal) => value.toDecimalPlaces(2, Decimal.ROUND_HALF_UP);

export type Kind = "CONVERSION" | "ADJUSTMENT" | "CREDIT" | "REVERSAL" | "CLAWBACK" | "WRITE_OFF" | "BOUNCE";
export type Status = "PENDING" | "APPROVED" | "ON_HOLD" | "CANCELLED" | "PAID" | "REVERSED";
export type PayoutStatus = "DRAFT" | "APPROVED" | "PROCESSING" | "PAID" | "FAILED" | "RETURNED" | "CANCELLED";
export type ReviewAction = "approve" | "hold" | "release" | "cancel" | "reinstate";

export interface MLine {
  key: number;
  id?: string;
  partner: number;
  kind: Kind;
  status: Status;
  heldFrom: Status | null;
  amount: Decimal;
  payableAt: number;
  related: number | null;
  /** The open (draft or approved) payout it is in. */
  payout: number | null;
}

export interface MSale {
  id: string;
  /** In the sale's currency. */
  amount: Decimal;
  refunded: Decimal;
  month: string;
  lines: number[];
}

export interface MPayout {
  key: number;
  id?: string;
  partner: number;
  status: PayoutStatus;
  lines: Set<number>;
  amount: Decimal;
  bounced: boolean;
  /** Paid through a payment provider (sendPayouts), so the provider can return it. */
  viaRail: boolean;
  /** PROCESSING at an asynchronous rail, which said the payment is unclaimed. */
  unclaimed: boolean;
}

export const HOLD_DAYS = 3;
export const MINIMUM = dec("5.00");
export const EUR_RATE = dec("1.0825");
/** Marginal tiers by the partner's sale number in the month: 10% for the first two, 12.5% after. */
export const tierPercent = (saleNumber: number) => (saleNumber <= 2 ? dec(10) : dec("12.5"));
const DAY = 86_400_000;

const SHARES: ReadonlySet<Kind> = new Set(["REVERSAL", "CLAWBACK"]);
const DEPENDENTS: ReadonlySet<Kind> = new Set(["ADJUSTMENT", "REVERSAL", "CLAWBACK"]);
const counts = (status: Status) => status !== "CANCELLED" && status !== "REVERSED";

export interface PartnerSetup {
  hasMethod: boolean;
  hasBilling: boolean;
  /** The rail its default method is paid through: Stripe answers at once, PayPal and Wise later. */
  rail?: "STRIPE" | "PAYPAL" | "WISE";
}

export interface Balance {
  pending: Decimal;
  payable: Decimal;
  inPayouts: Decimal;
  paid: Decimal;
  lifetimeEarned: Decimal;
}

/** The line the model expects to appear, to be matched to the API's by what it is. */
export class Model {
  lines: MLine[] = [];
  sales: MSale[] = [];
  payouts: MPayout[] = [];
  /** Paid money that came back (bounces), per partner. */
  returned: Decimal[];

  constructor(
    readonly partners: PartnerSetup[],
    public now: number,
    /** Manual approval: a sale's lines wait in PENDING for an operator. */
    readonly manualApproval = false,
  ) {
    this.returned = partners.map(() => ZERO);
  }

  private line(fields: Omit<MLine, "key" | "payout" | "heldFrom"> & { heldFrom?: Status | null; payout?: number | null }): MLine {
    const line: MLine = { key: this.lines.length, heldFrom: null, payout: null, ...fields };
    this.lines.push(line);
    return line;
  }

  private payoutOf(line: MLine): MPayout | null {
    return line.payout === null ? null : this.payouts[line.payout]!;
  }

  private dependents(line: MLine): MLine[] {
    return this.lines.filter((d) => d.related === line.key && DEPENDENTS.has(d.kind));
  }

  private isPayable(line: MLine): boolean {
    return line.status === "APPROVED" && line.payout === null && line.payableAt <= this.now;
  }

  bucket(line: MLine): keyof Omit<Balance, "lifetimeEarned"> | null {
    if (line.payout !== null) return "inPayouts";
    switch (line.status) {
      case "PENDING":
      case "ON_HOLD":
        return "pending";
      case "APPROVED":
        return line.payableAt <= this.now ? "payable" : "pending";
      case "PAID":
        return "paid";
      default:
        return null;
    }
  }

  balance(partner: number): Balance {
    const b: Balance = { pending: ZERO, payable: ZERO, inPayouts: ZERO, paid: ZERO, lifetimeEarned: ZERO };
    for (const line of this.lines) {
      if (line.partner !== partner) continue;
      const bucket = this.bucket(line);
      if (!bucket) continue;
      b[bucket] = b[bucket].plus(line.amount);
      b.lifetimeEarned = b.lifetimeEarned.plus(line.amount);
    }
    // A bounce: the money came back, so it was not paid, and the payable
    // BOUNCE line that rebooks it was not earned a second time.
    b.paid = b.paid.minus(this.returned[partner]!);
    b.lifetimeEarned = b.lifetimeEarned.minus(this.returned[partner]!);
    return b;
  }

  /** What the partner's statement closes at: earned less paid. */
  owed(partner: number): Decimal {
    const b = this.balance(partner);
    return b.lifetimeEarned.minus(b.paid);
  }

  private openPayout(partner: number): MPayout | undefined {
    return this.payouts.find((p) => p.partner === partner && (p.status === "DRAFT" || p.status === "APPROVED" || p.status === "PROCESSING"));
  }

  /** Why a payout run would skip the partner now, or null. */
  blocker(partner: number): string | null {
    if (this.openPayout(partner)) return "OPEN_PAYOUT_EXISTS";
    const net = this.lines.filter((l) => l.partner === partner && this.isPayable(l)).reduce((s, l) => s.plus(l.amount), ZERO);
    if (!net.greaterThan(0)) return "NOT_POSITIVE";
    if (net.lessThan(MINIMUM)) return "BELOW_MINIMUM";
    if (!this.partners[partner]!.hasMethod) return "NO_PAYOUT_METHOD";
    if (!this.partners[partner]!.hasBilling) return "NO_BILLING_DETAILS";
    return null;
  }

  /** What a payout run would draft now (payoutsOverview.payableNow). */
  payableNow(): { amount: Decimal; partners: number } {
    let amount = ZERO;
    let partners = 0;
    this.partners.forEach((_, p) => {
      if (this.blocker(p) !== null) return;
      amount = amount.plus(this.balance(p).payable);
      partners += 1;
    });
    return { amount, partners };
  }

  // ---- operations: each returns whether it takes effect ----

  sale(id: string, partners: number[], amount: Decimal, currency: "USD" | "EUR", occurredAt: number, month: string, lineIds: string[]): void {
    const inProgram = currency === "EUR" ? amount.times(EUR_RATE) : amount;
    const sale: MSale = { id, amount, refunded: ZERO, month, lines: [] };
    partners.forEach((partner, i) => {
      const earlier = this.sales.filter((s) => s.month === month && s.refunded.lessThan(s.amount) && s.lines.some((k) => this.lines[k]!.partner === partner)).length;
      const line = this.line({
        id: lineIds[i],
        partner,
        kind: "CONVERSION",
        status: this.manualApproval ? "PENDING" : "APPROVED",
        amount: cents(inProgram.times(tierPercent(earlier + 1)).dividedBy(100)),
        payableAt: occurredAt + HOLD_DAYS * DAY,
        related: null,
      });
      sale.lines.push(line.key);
    });
    this.sales.push(sale);
  }

  /** The cumulative share of a line reversed once `refunded` of the sale is. */
  private share(line: MLine, sale: MSale, refunded: Decimal): Decimal {
    if (refunded.greaterThanOrEqualTo(sale.amount)) return line.amount;
    return cents(line.amount.times(refunded).dividedBy(sale.amount));
  }

  refund(saleIndex: number, amount: Decimal | null): boolean {
    const sale = this.sales[saleIndex]!;
    const remaining = sale.amount.minus(sale.refunded);
    const take = amount ?? remaining;
    if (remaining.isZero() || take.greaterThan(remaining)) return false;
    const before = sale.refunded;
    const after = before.plus(take);
    const full = after.equals(sale.amount);
    sale.refunded = after;
    const touchedDrafts = new Set<number>();
    for (const key of sale.lines) {
      const line = this.lines[key]!;
      if (line.status === "REVERSED") continue;
      const draft = this.payoutOf(line)?.status === "DRAFT" ? line.payout : null;
      const reversible = line.status !== "PAID" && (line.payout === null || draft !== null);
      const deps = this.dependents(line).filter((d) => d.status !== "REVERSED");
      const stuck = (d: MLine) => counts(d.status) && (d.status === "PAID" || (d.payout !== null && d.payout !== draft));
      if (reversible && full && !deps.some(stuck)) {
        const statusBefore = line.status;
        for (const l of [line, ...deps]) {
          if (draft !== null && l.payout === draft) {
            this.detach(l);
            touchedDrafts.add(draft);
          }
        }
        line.status = "REVERSED";
        line.heldFrom = null;
        for (const d of deps) {
          if (d.payout !== null) continue;
          if (SHARES.has(d.kind) || counts(d.status) || d.status === statusBefore) {
            d.status = "REVERSED";
            d.heldFrom = null;
          }
        }
        continue;
      }
      let booked: Decimal;
      if (full && counts(line.status)) {
        // What is left of the line with its corrections: the sale nets to zero.
        booked = [line, ...deps.filter((d) => counts(d.status))].reduce((s, l) => s.plus(l.amount), ZERO).negated();
      } else {
        booked = this.share(line, sale, after)
          .minus(this.share(line, sale, before))
          .negated();
      }
      if (booked.isZero()) continue;
      const added = this.line({
        partner: line.partner,
        kind: reversible ? "REVERSAL" : "CLAWBACK",
        status: reversible ? line.status : "APPROVED",
        heldFrom: reversible ? line.heldFrom : null,
        amount: booked,
        payableAt: reversible ? line.payableAt : this.now,
        related: line.key,
        payout: draft,
      });
      if (draft !== null) {
        this.payouts[draft]!.lines.add(added.key);
        touchedDrafts.add(draft);
      }
    }
    for (const p of touchedDrafts) this.recompute(this.payouts[p]!);
    return true;
  }

  private detach(line: MLine): void {
    this.payoutOf(line)?.lines.delete(line.key);
    line.payout = null;
  }

  /** A draft's amount is the sum of its lines; one left with none is cancelled. */
  private recompute(payout: MPayout): void {
    payout.amount = [...payout.lines].reduce((s, k) => s.plus(this.lines[k]!.amount), ZERO);
    if (payout.status === "DRAFT" && payout.lines.size === 0) payout.status = "CANCELLED";
  }

  private transition(line: MLine, action: ReviewAction): { status: Status; heldFrom: Status | null } | null {
    const from: Record<ReviewAction, Status[]> = {
      approve: ["PENDING"],
      hold: ["PENDING", "APPROVED"],
      release: ["ON_HOLD"],
      cancel: ["PENDING", "APPROVED", "ON_HOLD"],
      reinstate: ["CANCELLED"],
    };
    if (!from[action].includes(line.status) || line.payout !== null) return null;
    switch (action) {
      case "approve":
        return { status: "APPROVED", heldFrom: null };
      case "hold":
        return { status: "ON_HOLD", heldFrom: line.status };
      case "release":
        return { status: line.heldFrom ?? "PENDING", heldFrom: null };
      case "cancel":
        return { status: "CANCELLED", heldFrom: null };
      case "reinstate":
        return { status: "PENDING", heldFrom: null };
    }
  }

  /**
   * Reviews a sale's line. Its refund shares count exactly while it counts
   * (they go on cancel, come back on reinstate, and a cancel is refused while
   * one is paid or in a payout); approve, hold and release move a share or
   * adjustment that is in the line's status and in no payout with it;
   * clawbacks stay approved.
   */
  review(lineKey: number, action: ReviewAction): boolean {
    const line = this.lines[lineKey]!;
    const to = this.transition(line, action);
    if (!to) return false;
    const moves: [MLine, { status: Status; heldFrom: Status | null }][] = [];
    for (const d of this.dependents(line)) {
      if (SHARES.has(d.kind) && (action === "cancel" || action === "reinstate")) {
        if (action === "reinstate") {
          if (d.status === "CANCELLED") moves.push([d, d.kind === "CLAWBACK" ? { status: "APPROVED", heldFrom: null } : { status: "PENDING", heldFrom: null }]);
          continue;
        }
        if (!counts(d.status)) continue;
        if (d.status === "PAID" || d.payout !== null) return false;
        moves.push([d, { status: "CANCELLED", heldFrom: null }]);
        continue;
      }
      if (d.kind === "CLAWBACK") continue;
      if (d.status !== line.status || d.payout !== null) continue;
      const followed = this.transition(d, action);
      if (followed) moves.push([d, followed]);
    }
    line.status = to.status;
    line.heldFrom = to.heldFrom;
    for (const [d, next] of moves) {
      d.status = next.status;
      d.heldFrom = next.heldFrom;
    }
    return true;
  }

  /** The line with its counting corrections (adjustments, refund shares). */
  net(line: MLine): Decimal {
    return [line, ...this.dependents(line).filter((d) => counts(d.status))].reduce((s, l) => s.plus(l.amount), ZERO);
  }

  adjust(lineKey: number, amount: Decimal): boolean {
    const line = this.lines[lineKey]!;
    if (!counts(line.status)) return false;
    if (this.net(line).plus(amount).isNegative()) return false;
    const follows = line.payout === null && line.status !== "PAID";
    this.line({
      partner: line.partner,
      kind: "ADJUSTMENT",
      status: follows ? line.status : "APPROVED",
      heldFrom: follows ? line.heldFrom : null,
      amount,
      payableAt: follows ? line.payableAt : this.now,
      related: line.key,
    });
    return true;
  }

  credit(partner: number, amount: Decimal): void {
    this.line({ partner, kind: "CREDIT", status: "APPROVED", amount, payableAt: this.now, related: null });
  }

  /** The sale line a correction belongs to (itself for a sale line). */
  private root(line: MLine): MLine | null {
    return line.related === null ? null : this.lines[line.related]!;
  }

  writeOff(partner: number): boolean {
    const payable = this.balance(partner).payable;
    if (!payable.isNegative()) return false;
    const negatives = this.lines.filter((l) => l.partner === partner && this.isPayable(l) && l.amount.isNegative());
    if (negatives.some((l) => this.root(l)?.status !== "PAID")) return false;
    this.line({ partner, kind: "WRITE_OFF", status: "APPROVED", amount: payable.negated(), payableAt: this.now, related: null });
    return true;
  }

  draft(partner: number): boolean {
    if (this.blocker(partner) !== null) return false;
    const payout: MPayout = { key: this.payouts.length, partner, status: "DRAFT", lines: new Set(), amount: ZERO, bounced: false, viaRail: false, unclaimed: false };
    for (const line of this.lines) {
      if (line.partner === partner && this.isPayable(line)) {
        payout.lines.add(line.key);
        line.payout = payout.key;
      }
    }
    this.payouts.push(payout);
    this.recompute(payout);
    return true;
  }

  approvePayout(key: number): boolean {
    const payout = this.payouts[key]!;
    if (payout.status !== "DRAFT" || !payout.amount.greaterThan(0) || payout.amount.lessThan(MINIMUM)) return false;
    payout.status = "APPROVED";
    return true;
  }

  payPayout(key: number): boolean {
    const payout = this.payouts[key]!;
    if (payout.status !== "APPROVED" || !payout.amount.greaterThan(0)) return false;
    this.payLines(payout);
    return true;
  }

  private payLines(payout: MPayout): void {
    payout.status = "PAID";
    for (const k of payout.lines) {
      const line = this.lines[k]!;
      line.status = "PAID";
      line.heldFrom = null;
      line.payout = null;
    }
  }

  /** Nothing was sent: FAILED (final), and the lines are payable again. */
  private failPayout(payout: MPayout): void {
    payout.status = "FAILED";
    for (const k of payout.lines) this.lines[k]!.payout = null;
    payout.lines = new Set();
  }

  cancelPayout(key: number): boolean {
    const payout = this.payouts[key]!;
    if (payout.status !== "DRAFT" && payout.status !== "APPROVED") return false;
    payout.status = "CANCELLED";
    for (const k of payout.lines) this.lines[k]!.payout = null;
    payout.lines = new Set();
    return true;
  }

  removeLine(key: number, lineKey: number): boolean {
    const payout = this.payouts[key]!;
    if (payout.status !== "DRAFT" || !payout.lines.has(lineKey)) return false;
    this.detach(this.lines[lineKey]!);
    this.recompute(payout);
    return true;
  }

  bounce(key: number): boolean {
    const payout = this.payouts[key]!;
    if (payout.status !== "PAID" || payout.bounced) return false;
    payout.bounced = true;
    this.returned[payout.partner] = this.returned[payout.partner]!.plus(payout.amount);
    this.line({ partner: payout.partner, kind: "BOUNCE", status: "APPROVED", amount: payout.amount, payableAt: this.now, related: null });
    return true;
  }

  /**
   * sendPayouts, then the provider's answer: an APPROVED payout with a
   * positive amount is handed over. A synchronous rail (Stripe) answers at
   * once: "paid" pays it as an operator's payment does (its lines PAID);
   * "failed" means nothing was sent: the payout is FAILED (final) and its
   * lines are payable again. An asynchronous one (PayPal, Wise) leaves it
   * PROCESSING, its lines in it, until `settle`.
   */
  send(key: number, fate: "paid" | "failed"): boolean {
    const payout = this.payouts[key]!;
    if (payout.status !== "APPROVED" || !payout.amount.greaterThan(0)) return false;
    payout.viaRail = true;
    if (this.partners[payout.partner]!.rail !== "STRIPE") payout.status = "PROCESSING";
    else if (fate === "paid") this.payLines(payout);
    else this.failPayout(payout);
    return true;
  }

  /** An asynchronous rail's answer to a PROCESSING payout it has not answered yet: paid, failed, or unclaimed (stays PROCESSING; PayPal only: Wise has no such state, so it pays). */
  settle(key: number, answer: "paid" | "failed" | "unclaimed"): boolean {
    const payout = this.payouts[key]!;
    if (payout.status !== "PROCESSING" || payout.unclaimed) return false;
    const fate = answer === "unclaimed" && this.partners[payout.partner]!.rail !== "PAYPAL" ? "paid" : answer;
    if (fate === "paid") this.payLines(payout);
    else if (fate === "failed") this.failPayout(payout);
    else payout.unclaimed = true;
    return true;
  }

  /**
   * The provider says the money came back. After it was paid: booked as a
   * bounce (once, if not already), and the payout is RETURNED. Before it was
   * ever confirmed (an unclaimed payment returned): it never arrived, so
   * FAILED, and its lines are payable again.
   */
  providerReturn(key: number): boolean {
    const payout = this.payouts[key]!;
    if (payout.status === "PROCESSING" && payout.unclaimed) {
      this.failPayout(payout);
      return true;
    }
    if (payout.status !== "PAID" || !payout.viaRail) return false;
    if (!payout.bounced) this.bounce(key);
    payout.status = "RETURNED";
    return true;
  }

  advance(days: number): void {
    this.now += days * DAY;
  }

  /** Lines the model booked that the API's list has not yet been matched to. */
  unmatched(): MLine[] {
    return this.lines.filter((l) => l.id === undefined);
  }
}
