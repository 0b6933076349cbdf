// The demo merchant's iframe page: lists seed 004's analytics events as the provider's frame
// posts them. Loaded before the frame (a blocking script in <head>), so no event is missed; the
// provider's origin comes from this script element's data-provider-origin.
"use strict";
(function () {
  var origin = document.currentScript.getAttribute("data-provider-origin");
  var received = [];
  var shown = 0;
  window.demoEvents = received;

  function render() {
    var list = document.getElementById("events");
    if (!list) return;
    for (; shown < received.length; shown += 1) {
      var item = document.createElement("li");
      item.textContent = received[shown];
      item.setAttribute("data-event", received[shown]);
      list.appendChild(item);
    }
    var empty = document.getElementById("events-empty");
    if (empty && received.length > 0) empty.hidden = true;
  }

  window.addEventListener("message", function (event) {
    // Seed 004's listener: only the provider's frame, and the data is a JSON string.
    if (event.origin !== origin) return;
    var message;
    try {
      message = JSON.parse(event.data);
    } catch (e) {
      return;
    }
    if (!message || message.type !== "analytics" || typeof message.event !== "string") return;
    received.push(message.event);
    render();
  });
  document.addEventListener("DOMContentLoaded", render);
})();
