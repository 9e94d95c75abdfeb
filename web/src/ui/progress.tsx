/** A labelled progress bar with its text under it (the text is for sight; assistive technology reads the bar's value and text). */
export function ProgressBar(props: { label: string; value: number; text: string }) {
  return (
    <div class="progress">
      <div role="progressbar" aria-label={props.label} aria-valuemin={0} aria-valuemax={100} aria-valuenow={props.value} aria-valuetext={props.text} class="progress-track">
        <div class="progress-fill" style={{ width: `${props.value}%` }} />
      </div>
      <p class="progress-text" aria-hidden="true">
        {props.text}
      </p>
    </div>
  );
}
