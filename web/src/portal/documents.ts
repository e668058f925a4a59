import { graphql } from "../gql/index.ts";

export const PortalHomeDoc = graphql(`
  query PortalHome($seriesFrom: Date!, $seriesTo: Date!) {
    viewer {
      role
      partner {
        id
        name
        balance {
          pending { amount currency }
          payable { amount currency }
          inPayouts { amount currency }
          paid { amount currency }
          lifetimeEarned { amount currency }
          recoverable { amount currency }
          payoutBlockers
        }
      }
      program { name currency timeZone allowPayoutRequests nextPayoutRunOn holdPeriodDays minimumPayout { amount currency } payoutSchedule { frequency } }
    }
    earningsSeries(period: MONTH, from: $seriesFrom, to: $seriesTo) {
      points { periodStart accrued { amount currency } reversed { amount currency } paidOut { amount currency } }
    }
  }
`);

export const PortalCommissionsDoc = graphql(`
  query PortalCommissions($first: Int, $after: String, $last: Int, $before: String, $filter: CommissionFilter, $sort: CommissionSort) {
    commissions(first: $first, after: $after, last: $last, before: $before, filter: $filter, sort: $sort) {
      totalCount
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
      edges {
        node {
          id kind status occurredAt payableAt isPayable statusReason reasonCode
          amount { amount currency }
          corrections { id kind status amount { amount currency } }
        }
      }
    }
    commissionTotals(filter: $filter) { count amount { amount currency } }
  }
`);

export const PortalPayoutsDoc = graphql(`
  query PortalPayouts {
    payouts(first: 20) {
      totalCount
      edges {
        node {
          id status createdAt approvedAt paidAt method reference cancelReason lineCount
          amount { amount currency }
        }
      }
    }
  }
`);

/** A payout's lines, read when the partner opens it (a payout can gather hundreds). */
export const PortalPayoutLinesDoc = graphql(`
  query PortalPayoutLines($id: ID!) {
    payout(id: $id) {
      id
      lines { amount { amount currency } commission { id kind occurredAt } }
    }
  }
`);

export const PortalPaymentDetailsDoc = graphql(`
  query PortalPaymentDetails {
    viewer {
      partner {
        id
        payoutMethods { id type label maskedNumber isDefault email currency }
        billingProfile { entityType legalName country taxForm maskedTaxId vatId addressLine1 addressLine2 city region postalCode }
      }
    }
  }
`);

export const PortalFeedDoc = graphql(`
  subscription PortalFeed($after: String) {
    partnerEvents(after: $after) {
      type
      cursor
      commission { id kind status amount { amount currency } }
      balance {
        pending { amount currency }
        payable { amount currency }
        inPayouts { amount currency }
        paid { amount currency }
        lifetimeEarned { amount currency }
      }
      payout { id status amount { amount currency } }
    }
  }
`);

export const RequestPayoutDoc = graphql(`
  mutation PortalRequestPayout($input: RequestPayoutInput!) {
    requestPayout(input: $input) { payout { id status amount { amount currency } } userErrors { code message field } }
  }
`);

export const AddPayoutMethodDoc = graphql(`
  mutation PortalAddPayoutMethod($input: AddPayoutMethodInput!) {
    addPayoutMethod(input: $input) { payoutMethod { id label } userErrors { code message field } }
  }
`);

export const RemovePayoutMethodDoc = graphql(`
  mutation PortalRemovePayoutMethod($input: RemovePayoutMethodInput!) {
    removePayoutMethod(input: $input) { payoutMethod { id } userErrors { code message field } }
  }
`);

export const DefaultPayoutMethodDoc = graphql(`
  mutation PortalDefaultPayoutMethod($input: SetDefaultPayoutMethodInput!) {
    setDefaultPayoutMethod(input: $input) { payoutMethod { id isDefault } userErrors { code message field } }
  }
`);

export const SetBillingProfileDoc = graphql(`
  mutation PortalSetBillingProfile($input: SetBillingProfileInput!) {
    setBillingProfile(input: $input) { billingProfile { legalName maskedTaxId } userErrors { code message field } }
  }
`);
