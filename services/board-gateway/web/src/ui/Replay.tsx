// Placeholder: the replay view (watch the board as it was over a time range) comes
// with the replay service's API.
export function ReplayPlaceholder() {
  return (
    <>
      <h1 class="view-title" tabIndex={-1}>Replay</h1>
      <section class="placeholder" data-testid="replay-placeholder">
        <p>Replay is not available on this board yet.</p>
        <p class="muted">
          It will let ops staff replay a time range of the event stream into a sandbox and watch the board as it was.
          Until then, use the replay command-line tool.
        </p>
      </section>
    </>
  );
}
