/** The progress of key work (deriving, opening, sealing), shown while a key form is busy. */
import { useKeyWork } from "./kdf";

export function KeyWorkProgress() {
  const work = useKeyWork();
  if (!work) return null;
  const percent = Math.round(((work.step - 1 + work.fraction) / work.steps) * 100);
  return (
    <div class="key-work" role="status">
      <progress max={100} value={percent} aria-label="Key work progress" aria-valuetext={`${work.label} Step ${work.step} of ${work.steps}.`} />
      <p class="hint">
        {work.label} Step {work.step} of {work.steps}.
      </p>
    </div>
  );
}
