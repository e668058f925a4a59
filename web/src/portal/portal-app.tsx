import { useEffect, useMemo, useRef, useState } from "react";
import { Provider } from "urql";
import { createApiClients, type ConnectionState } from "../shared/client.ts";
import { listenForEmbedderToken, rememberToken, takeTokenFromLocation } from "../shared/token.ts";
import { TokenGate } from "../shared/token-gate.tsx";
import { Portal } from "./portal.tsx";

/** The partner portal: a partner's token from the link or the embedding app, then the API. */
export function PortalApp() {
  const [token, setToken] = useState(takeTokenFromLocation);
  useEffect(
    () =>
      listenForEmbedderToken((fresh) => {
        rememberToken(fresh);
        setToken(fresh);
      }),
    [],
  );
  if (!token) return <TokenGate who="your partner" onToken={(fresh) => (rememberToken(fresh), setToken(fresh))} />;
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
      <Portal feed={clients.feed} connection={state} token={() => current.current} />
    </Provider>
  );
}
