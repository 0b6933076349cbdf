// The demo's callback, reached inside the iframe: the login is done, so the whole window (the
// demo's page, same origin as this frame) goes to the result page the link names.
"use strict";
(function () {
  var link = document.getElementById("continue");
  if (link) window.top.location.assign(link.href);
})();
