import { useEffect, useState } from "react";
import { HandoffContext, HandoffSlot } from "./room.js";
import { Link, matchRoute, usePath, type Route } from "./router.js";
import { DashboardScreen } from "./screens/dashboard.js";
import { EditorScreen } from "./screens/editor.js";
import { HostSessionScreen } from "./screens/host-session.js";
import { JoinScreen } from "./screens/join.js";
import { PlayScreen } from "./screens/play.js";

const TITLES: Record<Route["name"], string> = {
  landing: "Join a tasting",
  join: "Join a tasting",
  play: "Tasting",
  dashboard: "Your tastings",
  editor: "New tasting",
  "host-session": "Hosting",
  "not-found": "Page not found",
};

function Screen({ route }: { route: Route }) {
  switch (route.name) {
    case "landing":
      return <JoinScreen />;
    case "join":
      return <JoinScreen key={route.code} initialCode={route.code} />;
    case "play":
      return <PlayScreen key={route.code} code={route.code} />;
    case "dashboard":
      return <DashboardScreen />;
    case "editor":
      return <EditorScreen />;
    case "host-session":
      return <HostSessionScreen key={route.code} code={route.code} />;
    case "not-found":
      return (
        <main className="page page-phone" id="main">
          <h1 className="display">Nothing poured here</h1>
          <p className="lead">This page does not exist.</p>
          <p>
            <Link href="/">Join a tasting</Link> or <Link href="/host">host one</Link>.
          </p>
        </main>
      );
  }
}

export function App() {
  const path = usePath();
  const route = matchRoute(path);
  // One slot per page load: the join form hands its open connection to the game screen.
  const [handoffs] = useState(() => new HandoffSlot());
  useEffect(() => {
    document.title = `${TITLES[route.name]} · Sommelier Arena`;
    document.body.dataset.screen = route.name;
  }, [route.name]);
  return (
    <HandoffContext.Provider value={handoffs}>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <Screen route={route} />
    </HandoffContext.Provider>
  );
}
