// mailer web app: the little behaviour the pages need, no framework.
// Loaded as a file (the CSP forbids inline script).
(function () {
  "use strict";

  function poll(url, everyMs, onData) {
    var stopped = false;
    function tick() {
      if (stopped) return;
      fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (data) { if (data) onData(data); })
        .catch(function () { /* server restarting: try again next tick */ })
        .then(function () { if (!stopped) setTimeout(tick, everyMs); });
    }
    setTimeout(tick, everyMs);
    return function () { stopped = true; };
  }

  // Preview: reload when the files change on disk.
  var root = document.getElementById("preview-root");
  if (root && root.dataset.stateUrl) {
    var seen = root.dataset.fingerprint;
    poll(root.dataset.stateUrl, 1000, function (data) {
      if (data.fingerprint && data.fingerprint !== seen) {
        seen = data.fingerprint;
        var note = document.getElementById("reload-note");
        if (note) note.textContent = "Files changed: reloading…";
        window.location.reload();
      }
    });
  }

  // Buttons that ask before doing something big.
  document.addEventListener("click", function (event) {
    var el = event.target.closest ? event.target.closest("[data-confirm]") : null;
    if (el && !window.confirm(el.getAttribute("data-confirm"))) event.preventDefault();
  });

  // Sends: live counts without reloading.
  function fmt(n) { return Number(n || 0).toLocaleString("en-US"); }

  document.querySelectorAll("[data-progress-url]").forEach(function (box) {
    var stop = poll(box.dataset.progressUrl, 1500, function (data) {
      var sends = data.sends || [data];
      sends.forEach(function (s) {
        var row = box.querySelector('[data-send="' + s.id + '"]') || (box.dataset.send == s.id ? box : null);
        if (!row) return;
        row.querySelectorAll("[data-field]").forEach(function (el) {
          var key = el.dataset.field;
          if (!(key in s)) return;
          if (key === "status") {
            el.textContent = s.status;
            el.className = "badge badge-" + s.status;
          } else if (key === "percent") {
            el.value = s.percent;
          } else {
            el.textContent = typeof s[key] === "number" ? fmt(s[key]) : s[key];
          }
        });
      });
      if (data.active === false && box.dataset.stopWhenIdle) stop();
    });
  });
})();
