/** `isReachable()` (connectivity.ts) as a Preact hook: re-renders when the server is lost or found again. */
import { useEffect, useState } from "preact/hooks";
import { isReachable, onReachability } from "../api/connectivity";

export function useReachable(): boolean {
  const [reachable, setReachable] = useState(isReachable());
  useEffect(() => {
    setReachable(isReachable());
    return onReachability(setReachable);
  }, []);
  return reachable;
}
