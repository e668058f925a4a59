import { graphql } from "../gql/index.ts";

export const DashboardHomeDoc = graphql(`
  query DashboardHome($period: AnalyticsPeriod!, $from: Date!, $to: Date!, $monthFrom: Date!) {
    viewer { role subject }
    program { name currency timeZone nextPayoutRunOn payoutSchedule { frequency } }
    payoutsOverview {
      owedToPartners { amount currency }
      payableNow { amount currency }
      payableNowPartners
      paidThisMonth { amount currency }
      paidThisMonthCount
      draftsAwaitingApproval
      approvedAwaitingPayment
      recoverable { amount currency }
    }
    pendingReview: commissionTotals(filter: { status: [PENDING] }) { count amount { amount currency } }
    earningsSeries(period: $period, from: $from, to: $to) {
      points { periodStart accrued { amount currency } reversed { amount currency } paidOut { amount currency } }
    }
    topPartners(from: $monthFrom, to: $to, first: 5) { partnerId partner { name } earned { amount currency } sales { amount currency } conversions }
  }
`);

export const ReviewQueueDoc = graphql(`
  query DashboardReviewQueue($filter: CommissionFilter, $after: String) {
    commissions(first: 25, after: $after, filter: $filter, sort: { field: OCCURRED_AT, direction: ASC }) {
      totalCount
      pageInfo { hasNextPage endCursor }
      edges { node { id kind status occurredAt amount { amount currency } partner { id name } } }
    }
    commissionTotals(filter: $filter) { count amount { amount currency } }
  }
`);

export const PayoutsDoc = graphql(`
  query DashboardPayouts($filter: PayoutFilter) {
    payouts(first: 50, filter: $filter) {
      totalCount
      edges { node { id status createdAt paidAt method reference lineCount amount { amount currency } partner { id name } } }
    }
    payoutTotals(filter: $filter) { count amount { amount currency } }
  }
`);

export const PartnersDoc = graphql(`
  query DashboardPartners {
    partnerBalances(first: 50) {
      totalCount
      edges {
        node {
          partner { id name status }
          pending { amount currency }
          payable { amount currency }
          inPayouts { amount currency }
          paid { amount currency }
          payoutBlockers
        }
      }
    }
  }
`);

export const ProgramFeedDoc = graphql(`
  subscription DashboardFeed($after: String) {
    programEvents(after: $after) {
      type
      cursor
      partnerId
      occurredAt
      commission { id kind status amount { amount currency } }
      payout { id status amount { amount currency } }
    }
  }
`);

export const ReviewDocs = {
  approve: graphql(`
    mutation DashboardApprove($input: ApproveCommissionsInput!) {
      approveCommissions(input: $input) { commissions { id status } skipped { id code message } userErrors { code message } }
    }
  `),
  hold: graphql(`
    mutation DashboardHold($input: HoldCommissionsInput!) {
      holdCommissions(input: $input) { commissions { id status } skipped { id code message } userErrors { code message } }
    }
  `),
  cancel: graphql(`
    mutation DashboardCancel($input: CancelCommissionsInput!) {
      cancelCommissions(input: $input) { commissions { id status } skipped { id code message } userErrors { code message } }
    }
  `),
};

export const RunPayoutsDoc = graphql(`
  mutation DashboardRunPayouts($input: RunPayoutsInput!) {
    runPayouts(input: $input) {
      payouts { id amount { amount currency } partner { name } }
      skipped { partner { name } reason message }
      userErrors { code message }
    }
  }
`);

export const ApprovePayoutsDoc = graphql(`
  mutation DashboardApprovePayouts($input: ApprovePayoutsInput!) {
    approvePayouts(input: $input) { payouts { id status } skipped { id code message } userErrors { code message } }
  }
`);

export const MarkPaidDoc = graphql(`
  mutation DashboardMarkPaid($input: MarkPayoutsPaidInput!) {
    markPayoutsPaid(input: $input) { payouts { id status } skipped { id code message } userErrors { code message } }
  }
`);

export const CancelPayoutsDoc = graphql(`
  mutation DashboardCancelPayouts($input: CancelPayoutsInput!) {
    cancelPayouts(input: $input) { payouts { id status } skipped { id code message } userErrors { code message } }
  }
`);
