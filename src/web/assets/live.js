// Live updates: the server pushes a `change` event (server-sent events) when this user's
// data changes; the page then fetches itself again and swaps its <main>. Nothing polls, and
// without JavaScript every page is complete as served.
(() => {
  "use strict";
  const main = document.getElementById("main");
  const status = document.getElementById("live");
  if (!main || !window.EventSource || !window.fetch) return;
  let busy = false;
  let again = false;
  async function refresh() {
    if (busy) {
      again = true;
      return;
    }
    busy = true;
    try {
      const r = await fetch(location.href, {
        headers: { "X-TF-Partial": "1" },
        credentials: "same-origin",
        cache: "no-store",
      });
      if (r.status === 401) {
        location.reload();
        return;
      }
      if (r.ok) {
        const focused = document.activeElement && document.activeElement.id;
        main.innerHTML = await r.text();
        const target = focused && document.getElementById(focused);
        if (target) target.focus();
        if (status) status.textContent = "Updated " + new Date().toLocaleTimeString();
      }
    } catch (e) {
      // Offline for a moment: the next event tries again.
    } finally {
      busy = false;
      if (again) {
        again = false;
        refresh();
      }
    }
  }
  const events = new EventSource("/events");
  events.addEventListener("change", refresh);
  // `hello` opens every stream: after a reconnect (the daemon restarted) changes may have been
  // missed, so the page re-reads. data-live says the page is listening.
  events.addEventListener("hello", () => {
    if (document.documentElement.dataset.live) refresh();
    document.documentElement.dataset.live = "open";
  });
  window.addEventListener("pagehide", () => events.close());
})();
