import "@fontsource-variable/fraunces";
import "@fontsource-variable/inter";
import "./styles.css";
import { createRoot } from "react-dom/client";
import { App } from "./app.js";

createRoot(document.getElementById("root")!).render(<App />);
