import { createVerify } from "node:crypto";
import { WebhookRejected } from "../provider-error.ts";
import type { WebhookHeaders } from "../payout-provider.ts";

/**
 * Wise signs each delivery with SHA256withRSA over the raw body and sends the
 * base64 signature in X-Signature-SHA256 ([W19][W20]); its public keys are
 * published, one for the sandbox and one for production. These are those
 * keys (docs.wise.com/guides/developer/webhooks/event-handling, and
 * transferwise/digital-signatures-examples, whose signed sandbox sample
 * test/fixtures/wise/ keeps and a test verifies).
 */
export const WISE_WEBHOOK_PUBLIC_KEYS = {
  SANDBOX: `-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAwpb91cEYuyJNQepZAVfP
ZIlPZfNUefH+n6w9SW3fykqKu938cR7WadQv87oF2VuT+fDt7kqeRziTmPSUhqPU
ys/V2Q1rlfJuXbE+Gga37t7zwd0egQ+KyOEHQOpcTwKmtZ81ieGHynAQzsn1We3j
wt760MsCPJ7GMT141ByQM+yW1Bx+4SG3IGjXWyqOWrcXsxAvIXkpUD/jK/L958Cg
nZEgz0BSEh0QxYLITnW1lLokSx/dTianWPFEhMC9BgijempgNXHNfcVirg1lPSyg
z7KqoKUN0oHqWLr2U1A+7kqrl6O2nx3CKs1bj1hToT1+p4kcMoHXA7kA+VBLUpEs
VwIDAQAB
-----END PUBLIC KEY-----
`,
  LIVE: `-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAvO8vXV+JksBzZAY6GhSO
XdoTCfhXaaiZ+qAbtaDBiu2AGkGVpmEygFmWP4Li9m5+Ni85BhVvZOodM9epgW3F
bA5Q1SexvAF1PPjX4JpMstak/QhAgl1qMSqEevL8cmUeTgcMuVWCJmlge9h7B1CS
D4rtlimGZozG39rUBDg6Qt2K+P4wBfLblL0k4C4YUdLnpGYEDIth+i8XsRpFlogx
CAFyH9+knYsDbR43UJ9shtc42Ybd40Afihj8KnYKXzchyQ42aC8aZ/h5hyZ28yVy
Oj3Vos0VdBIs/gAyJ/4yyQFCXYte64I7ssrlbGRaco4nKF3HmaNhxwyKyJafz19e
HwIDAQAB
-----END PUBLIC KEY-----
`,
} as const;

export function verifyWiseSignature(raw: Buffer, headers: WebhookHeaders, publicKey: string): void {
  const value = headers["x-signature-sha256"];
  const signature = Array.isArray(value) ? value[0] : value;
  if (!signature) throw new WebhookRejected("X-Signature-SHA256 is missing", 401);
  let valid = false;
  try {
    valid = createVerify("RSA-SHA256").update(raw).verify(publicKey, signature, "base64");
  } catch {
    valid = false;
  }
  if (!valid) throw new WebhookRejected("Wise's signature does not match", 401);
}
