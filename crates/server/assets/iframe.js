// The iframe flow's page script (seed 004, steps 8 and 9), served from the provider's origin.
// It reads everything from the data- attributes of #iframe-flow, posts the analytics events to
// the framing page (only to frame_ancestor, never "*"), checks the referrer on the first page,
// and while the app is asked polls the flow's status (same origin) until it can leave.
"use strict";
(function () {
  const root = document.getElementById("iframe-flow");
  if (!root) return;
  const data = root.dataset;
  const ancestor = data.frameAncestor;

  function post(event) {
    if (!ancestor || window.parent === window) return;
    window.parent.postMessage(JSON.stringify({ type: "analytics", event }), ancestor);
  }

  function originOf(url) {
    try {
      return new URL(url).origin;
    } catch (_) {
      return "";
    }
  }

  function leave(outcome, url) {
    post("authorization_" + outcome);
    post("redirecting_to_merchant");
    window.location.assign(url);
  }

  function showError(id) {
    const error = document.getElementById(id);
    if (error) error.hidden = false;
    const form = document.getElementById("flow-form");
    if (form) form.hidden = true;
  }

  function poll() {
    fetch(data.statusUrl, { headers: { Accept: "application/json" }, cache: "no-store" })
      .then((response) => response.json())
      .then((status) => {
        if (status.status === "pending") {
          setTimeout(poll, 1000);
        } else if (status.redirect_uri) {
          leave(status.status, status.redirect_uri);
        } else {
          post("authorization_errored");
          showError("status-error");
        }
      })
      .catch(() => setTimeout(poll, 2000));
  }

  if (data.initial === "true") {
    post("initialization_pending");
    // The merchant's Referrer-Policy may send only the origin: compare origins.
    if (data.state === "error") {
      post("initialization_errored");
      return;
    }
    if (!document.referrer || originOf(document.referrer) !== ancestor) {
      showError("referrer-error");
      post("initialization_errored");
      return;
    }
    post("initialization_completed");
  }

  switch (data.state) {
    case "identify": {
      post("awaiting_user_identity_input");
      const nnin = document.getElementById("nnin");
      if (nnin) nnin.focus();
      break;
    }
    case "waiting":
      post("awaiting_delegated_authentication");
      post("authorization_pending");
      setTimeout(poll, 1000);
      break;
    case "leave":
      leave(data.outcome, data.redirect);
      break;
    case "error":
      post("authorization_errored");
      break;
  }
})();
