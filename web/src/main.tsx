// First: fills in unprefixed WebCrypto (crypto.subtle) on browsers that only have a prefixed one.
import "webcrypto-shim";
import "./ui/zod-jitless";
import { render } from "preact";
import { App } from "./app";
// The building blocks' styles, then the page-wide ones (tokens, forms, layout) last, after every part's own.
import "./ui/blocks.css";
import "./ui/styles.css";

const root = document.getElementById("app");
if (!root) throw new Error("index.html has no #app element");
render(<App />, root);
