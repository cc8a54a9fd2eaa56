// The console's only script of its own: while a form is being sent, say so to assistive
// technology. A second click still sends the form: the server's idempotency key makes the
// repeat a replay, which the page reports as "already done".
document.addEventListener("submit", function (event) {
  event.target.setAttribute("aria-busy", "true");
});
