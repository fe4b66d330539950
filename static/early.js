// Runs before the page is drawn (not deferred): marks that JavaScript is on, so styles that
// need app.js (the phone Menu button) apply from the first paint, without a jump.
document.documentElement.classList.add("js");
