/** The site operator's inbox badge: how many requests await their decision, kept current while the app is open. */
import { useEffect, useState } from "preact/hooks";
import { LIVE_REFRESH_MS, videoApi } from "./api";
import "./video.css";

export function InboxCount() {
  const [count, setCount] = useState(0);
  const [more, setMore] = useState(false);
  useEffect(() => {
    let live = true;
    const load = () =>
      videoApi.requests({ status: "held", limit: "200" }).then(
        (r) => {
          if (!live) return;
          setCount(r.requests.length);
          setMore(r.nextCursor !== null);
        },
        () => undefined,
      );
    void load();
    const timer = setInterval(() => document.visibilityState === "visible" && void load(), LIVE_REFRESH_MS * 2);
    return () => {
      live = false;
      clearInterval(timer);
    };
  }, []);
  if (count === 0) return null;
  return (
    <span class="nav-count" aria-label={`${count}${more ? " or more" : ""} awaiting your decision`}>
      {count}
      {more ? "+" : ""}
    </span>
  );
}
