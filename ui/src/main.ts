import { mount } from "svelte";
import "./app.css";
import App from "./App.svelte";

async function start() {
  // `vite --mode mock`: an in-memory backend, for working on the UI in a
  // browser. Production builds drop this branch entirely.
  if (import.meta.env.MODE === "mock") {
    const { installMockBackend } = await import("./dev/mock");
    installMockBackend();
  }
  mount(App, { target: document.getElementById("app")! });
}

void start();
