import { graphql } from "../../src/generated/gql/index.ts";

export const SendPayoutsDoc = graphql(`
  mutation SendPayouts($input: SendPayoutsInput!) {
    sendPayouts(input: $input) {
      payouts { id status sentAt sentBy approvedBy method }
      skipped { id code message }
      userErrors { code message field }
    }
  }
`);

export const SentPayoutDoc = graphql(`
  query SentPayout($id: ID!) {
    node(id: $id) {
      ... on Payout {
        id status method reference paidAt failedAt failureReason returnedAt bouncedAt bounceReason providerNote approvedBy sentBy
        amount { amount currency } sentAmount { amount currency } fee { amount currency }
      }
    }
  }
`);

export const DualControlDoc = graphql(`
  mutation SetDualControl($input: UpdateProgramSettingsInput!) {
    updateProgramSettings(input: $input) { program { dualControlAbove { amount currency } } userErrors { code message field } }
  }
`);
