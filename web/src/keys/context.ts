/** The signed-in user's unlocked keys, given to the app by the key gate (gate.tsx). */
import { createContext } from "preact";
import { useContext } from "preact/hooks";
import type { DeviceKeys } from "./store";

export interface DeviceKeysValue {
  keys: DeviceKeys;
  /** Removes the keys from this device; the gate then asks to unlock them again. */
  forget: () => Promise<void>;
}

export const DeviceKeysContext = createContext<DeviceKeysValue | null>(null);

/** The signed-in user's unlocked keys on this device (only inside the gate). */
export function useDeviceKeys(): DeviceKeysValue {
  const value = useContext(DeviceKeysContext);
  if (!value) throw new Error("useDeviceKeys() outside <KeyGate>");
  return value;
}

/**
 * The keys when there are any: null for a site operator, who holds no evidence keys and so
 * passes no key gate (their work, approving video, needs none).
 */
export function useOptionalDeviceKeys(): DeviceKeysValue | null {
  return useContext(DeviceKeysContext);
}
