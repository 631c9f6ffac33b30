// The bell's unread count, fetched after the page loaded (pages themselves run no query for it).
(function () {
  "use strict";
  function refresh() {
    var bell = document.getElementById("bell");
    if (!bell || !window.fetch) { return; }
    fetch(bell.getAttribute("data-count-url"), { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) {
        if (!data) { return; }
        var badge = bell.querySelector(".bell-count");
        badge.textContent = data.unread > 99 ? "99+" : String(data.unread);
        badge.hidden = data.unread === 0;
        bell.setAttribute("data-unread", String(data.unread));
      })
      .catch(function () { /* the bell stays as it was */ });
  }
  document.addEventListener("DOMContentLoaded", function () {
    refresh();
    window.setInterval(refresh, 60000);
  });
})();
