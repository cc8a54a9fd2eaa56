// The console's only script of its own: while a form is being sent, say so to assistive
// technology. A second click still sends the form: the server's idempotency key makes the
// repeat a replay, which the page reports as "already done".
document.addEventListener("submit", function (event) {
  event.target.setAttribute("aria-busy", "true");
});

// A job's progress (checks, scenario) is polled in place; once it reports the job ended,
// the page's start button, disabled while it ran, may be pressed again.
document.addEventListener("htmx:afterSettle", function () {
  if (document.querySelector("section[data-running='false']")) {
    document.querySelectorAll("form button[type='submit'][disabled]").forEach(function (b) {
      b.disabled = false;
    });
  }
});
