import { useState, type FormEvent } from "react";

/** Shown when a page was opened without a token: paste one (it stays in this tab only). */
export function TokenGate({ who, onToken }: { who: string; onToken: (token: string) => void }) {
  const [value, setValue] = useState("");
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (value.trim()) onToken(value.trim());
  };
  return (
    <main className="gate">
      <h1>Sign in</h1>
      <p>
        Open this page with the link you were given (it carries {who} token after <code>#token=</code>), or paste the token here.
      </p>
      <form onSubmit={submit}>
        <label htmlFor="token">Token</label>
        <input id="token" type="password" autoComplete="off" value={value} onChange={(event) => setValue(event.target.value)} />
        <button type="submit">Open</button>
      </form>
    </main>
  );
}
