// Loaded (as a classic script) before the page's modules: if one of them
// fails to load (a network change aborts requests in flight: Chromium's
// ERR_NETWORK_CHANGED), the page reloads itself, a few times at most.
(function () {
  var KEY = "svcmgr-boot-reloads";
  document.addEventListener(
    "error",
    function (ev) {
      var el = ev.target;
      if (!el || el.tagName !== "SCRIPT") return;
      var n = Number(sessionStorage.getItem(KEY) || "0");
      if (n >= 5) {
        document.body.textContent = "The dashboard's scripts could not be loaded from the agent. Reload the page to try again.";
        sessionStorage.removeItem(KEY);
        return;
      }
      sessionStorage.setItem(KEY, String(n + 1));
      setTimeout(function () {
        location.reload();
      }, 200 * (n + 1));
    },
    true,
  );
  window.addEventListener("svcmgr:started", function () {
    sessionStorage.removeItem(KEY);
  });
})();
