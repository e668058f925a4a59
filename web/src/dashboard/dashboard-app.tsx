import { useEffect, useMemo, useRef, useState } from "react";
import { Provider } from "urql";
import { createApiClients, type ConnectionState } from "../shared/client.ts";
import { listenForEmbedderToken, rememberToken, takeTokenFromLocation } from "../shared/token.ts";
import { TokenGate } from "../shared/token-gate.tsx";
import { Dashboard } from "./dashboard.tsx";

/** The operator dashboard: an operator token from the link (or pasted), then the API. */
export function DashboardApp() {
  const [token, setToken] = useState(takeTokenFromLocation);
  useEffect(
    () =>
      listenForEmbedderToken((fresh) => {
        rememberToken(fresh);
        setToken(fresh);
      }),
    [],
  );
  if (!token) return <TokenGate who="an operator" onToken={(fresh) => (rememberToken(fresh), setToken(fresh))} />;
  return <Connected token={token} />;
}

function Connected({ token }: { token: string }) {
  const current = useRef(token);
  current.current = token;
  const [state, setState] = useState<ConnectionState>("connecting");
  const clients = useMemo(() => createApiClients(() => current.current, setState), []);
  useEffect(() => () => void clients.feed.dispose(), [clients]);
  return (
    <Provider value={clients.api}>
      <Dashboard feed={clients.feed} connection={state} token={() => current.current} />
    </Provider>
  );
}
