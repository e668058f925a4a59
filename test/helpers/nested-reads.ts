import { graphql } from "../../src/generated/gql/index.ts";

/**
 * Reads with nested lists and relations, each with a `$first`: the N+1
 * tests count their statements (test/api/n-plus-one.test.ts) and compiled
 * execution is held to the interpreter with them (test/api/compiled-queries.test.ts).
 */
export const PartnersNestedDoc = graphql(`
  query PartnersNested($first: Int!) {
    partners(first: $first) {
      totalCount
      edges {
        node {
          id name status
          commissionRuleOverride { type percent tiers { upTo percent } }
        }
      }
    }
  }
`);

export const PartnersWithLinesDoc = graphql(`
  query PartnersWithLines($first: Int!) {
    partners(first: $first) {
      edges {
        node {
          id name
          balance { payable { amount } pending { amount } }
          commissions(first: 5) {
            totalCount
            edges { node { id amount { amount } status conversion { externalId programAmount { amount } } corrections { id } } }
          }
        }
      }
    }
  }
`);

/** One line of each partner, whose partners have nine or ten each: the page, not the partners' lines, is read. */
export const PartnersFirstLineDoc = graphql(`
  query PartnersFirstLine($first: Int!) {
    partners(first: $first) { edges { node { id commissions(first: 1) { totalCount edges { node { id status } } } } } }
  }
`);

export const ConversionsWithLinesDoc = graphql(`
  query ConversionsWithLines($first: Int!) {
    conversions(first: $first) {
      edges { node { id externalId reversals { refundId } commissions { id isPayable partner { id name } related { id } } } }
    }
  }
`);

export const CommissionsWithParentsDoc = graphql(`
  query CommissionsWithParents($first: Int!) {
    commissions(first: $first) {
      totalCount
      edges { node { id partner { name balance { payable { amount } } } conversion { externalId commissions { id } } } }
    }
  }
`);

export const PayoutsWithLinesDoc = graphql(`
  query PayoutsWithLines($first: Int!) {
    payouts(first: $first) {
      totalCount
      edges { node { id amount { amount } lineCount partner { name payoutMethods { label } billingProfile { legalName } balance { payoutBlockers } } lines { amount { amount } commission { id status conversion { externalId } } } } }
    }
    pendingPayouts(first: $first) { edges { node { partner { id } payableCommissionCount payableRevenue { amount } lastPaidAt payoutBlockers } } }
  }
`);
