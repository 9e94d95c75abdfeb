/** Where a camera points and how far it is, in words. */

const COMPASS = ["N", "NE", "E", "SE", "S", "SW", "W", "NW"];

export function facing(direction: number | null): string {
  return direction === null ? "" : `facing ${COMPASS[Math.round(direction / 45) % 8]}`;
}

export function distance(metres: number | null): string {
  if (metres === null) return "";
  return metres < 1000 ? `${metres} m away` : `${(metres / 1000).toFixed(1)} km away`;
}
