/**
 * Performance marks along the path from opening an item to its first bytes played (issue 18):
 * `custody:<step>` in the page, the evidence worker and the service worker, each in its own
 * timeline (absolute time = `performance.timeOrigin + startTime`). Nothing is logged; `npm run
 * bench -- --only playback` reads them to say where the time to the first frame goes. A timeline
 * keeps at most `KEEP` of them (the service worker lives across many views).
 */
const KEEP = 500;
let count = 0;

export function mark(step: string): void {
  if (++count > KEEP) {
    for (const entry of performance.getEntriesByType("mark")) if (entry.name.startsWith("custody:")) performance.clearMarks(entry.name);
    count = 1;
  }
  performance.mark(`custody:${step}`);
}

/** Forgets this timeline's marks (a new view starts). */
export function clearMarks(): void {
  for (const entry of performance.getEntriesByType("mark")) if (entry.name.startsWith("custody:")) performance.clearMarks(entry.name);
  count = 0;
}
