// triage console: the only script. Pages work without it; it refreshes
// the queue figures and shows the playground's result as you type. A
// request sent to the login form (the session ended) opens the login form.
(function () {
  "use strict";

  function refreshRows(body) {
    var url = body.getAttribute("data-refresh");
    var every = parseInt(body.getAttribute("data-every"), 10) || 2000;
    var status = document.getElementById("live-status");
    function tick() {
      fetch(url, { credentials: "same-origin", headers: { "Accept": "text/html" } })
        .then(function (response) {
          if (response.redirected) { window.location.assign(response.url); return null; }
          if (!response.ok) { throw new Error("HTTP " + response.status); }
          return response.text();
        })
        .then(function (html) {
          if (html === null) { return; }
          body.innerHTML = html;
          if (status) { status.textContent = "Live: updated " + new Date().toLocaleTimeString() + "."; }
        })
        .catch(function () {
          if (status) { status.textContent = "Live updates paused: the server did not answer."; }
        })
        .then(function () { window.setTimeout(tick, every); });
    }
    window.setTimeout(tick, every);
  }

  function livePlayground(form) {
    var result = document.getElementById("playground-result");
    var timer = null;
    var sent = 0;
    function update() {
      var query = new URLSearchParams(new FormData(form));
      query.set("fragment", "1");
      var mine = ++sent;
      var action = form.getAttribute("action").split("#")[0];
      fetch(action + "?" + query.toString(), { credentials: "same-origin" })
        .then(function (response) {
          if (response.redirected) { window.location.assign(response.url); return null; }
          return response.text();
        })
        .then(function (html) { if (html !== null && mine === sent) { result.innerHTML = html; } })
        .catch(function () {});
    }
    form.addEventListener("input", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(update, 250);
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var rows = document.getElementById("queue-rows");
    if (rows) { refreshRows(rows); }
    var playground = document.getElementById("playground");
    if (playground) { livePlayground(playground); }
  });
})();
