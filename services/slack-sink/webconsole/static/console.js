// ghnotify console: live views over Server-Sent Events. Every page works
// without it; it only keeps the lists up to date.
(function () {
  "use strict";

  function refreshInto(target, url) {
    var open = Array.prototype.map.call(target.querySelectorAll("details"), function (d) { return d.open; });
    var before = {};
    target.querySelectorAll("tr[data-id]").forEach(function (r) { before[r.dataset.id] = true; });
    return fetch(url, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (r) { if (!r.ok) { throw new Error("HTTP " + r.status); } return r.text(); })
      .then(function (html) {
        target.innerHTML = html;
        target.querySelectorAll("details").forEach(function (d, i) { if (open[i]) { d.open = true; } });
        target.querySelectorAll("tr[data-id]").forEach(function (r) {
          if (!before[r.dataset.id]) { r.classList.add("fresh"); }
        });
      });
  }

  function live(el) {
    var target = document.getElementById(el.dataset.target);
    if (!window.EventSource || !target) { return; }
    var es = new EventSource(el.dataset.src);
    var timer = null;
    es.addEventListener("ready", function () { el.classList.add("on"); el.title = "live: updates as deliveries arrive"; });
    es.addEventListener("error", function () { el.classList.remove("on"); el.title = "reconnecting"; });
    if (el.dataset.refresh) {
      es.addEventListener("delivery", function () {
        if (timer) { return; }
        timer = setTimeout(function () {
          timer = null;
          refreshInto(target, el.dataset.refresh).catch(function () { el.classList.remove("on"); });
        }, 300);
      });
    } else {
      es.addEventListener("message", function (e) {
        var empty = document.getElementById("inbox-empty");
        if (empty) { empty.remove(); }
        target.insertAdjacentHTML("afterbegin", e.data);
        if (target.firstElementChild) { target.firstElementChild.classList.add("fresh"); }
      });
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll(".live[data-src]").forEach(live);
  });
})();
