import { graphql } from "../../src/generated/gql/index.ts";

export const RunAndStoreDoc = graphql(`
  mutation RunAndStore($input: RunPayoutsInput!) {
    runPayouts(input: $input) {
      run { id trigger createdBy finishedAt }
      payouts { id partner { id } }
      skipped { partner { id } reason message }
      userErrors { code message field }
    }
  }
`);

export const PayoutRunsDoc = graphql(`
  query PayoutRuns {
    payoutRuns(first: 5) {
      totalCount
      edges {
        node {
          id trigger createdBy payableBefore finishedAt
          skipped { partner { id } reason message }
          totals {
            drafted { count amount { amount currency } }
            sent { count amount { amount } }
            failed { count amount { amount } }
            paid { count amount { amount } }
            returned { count amount { amount } }
            cancelled { count amount { amount } }
          }
          payouts(first: 10) { totalCount edges { node { id status } } }
        }
      }
    }
  }
`);

export const PayoutRunDoc = graphql(`
  query PayoutRunById($id: ID!) {
    payoutRun(id: $id) { id totals { drafted { count } sent { count } paid { count } failed { count } } }
  }
`);

export const PayoutOfRunDoc = graphql(`
  query PayoutOfRun($id: ID!) { node(id: $id) { ... on Payout { id status run { id } } } }
`);
