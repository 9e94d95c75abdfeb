/** What kind of device the app runs on, where a screen offers something only phones do. */

/** True on a touch-first device (a phone or tablet), where the camera can be opened from a file input. */
export function isPhone(): boolean {
  return matchMedia("(pointer: coarse)").matches;
}
