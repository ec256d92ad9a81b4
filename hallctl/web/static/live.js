// The live channel and small DOM helpers every hall page shares (see hallctl/web/live.py).
// A page calls connect() once; EventSource reconnects by itself after a daemon restart or a
// network blip, and the server then sends the whole current view again.

export const config = JSON.parse(document.getElementById("page-config").textContent);
export const token = new URLSearchParams(location.search).get("t") || "";

export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") el.className = v;
    else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
  return el;
}

// state: key -> payload, as the server's view; offset: server clock minus ours (ms).
export const live = { state: new Map(), seq: 0, offset: 0, connected: false };

export function connect(onUpdate) {
  const badge = h("div", { class: "offline-badge", hidden: true }, "正在重新连接… Reconnecting…");
  document.body.append(badge);
  const url = `${config.live}?t=${encodeURIComponent(token)}`;
  let source;
  const open = () => {
    source = new EventSource(url);
    source.addEventListener("view", (e) => {
      const msg = JSON.parse(e.data);
      live.state = new Map(Object.entries(msg.view));
      live.seq = msg.seq;
      sync(msg.now);
      setConnected(true);
      onUpdate({ full: true, keys: [...live.state.keys()], events: [] });
    });
    source.addEventListener("change", (e) => {
      const msg = JSON.parse(e.data);
      for (const [k, v] of Object.entries(msg.set)) live.state.set(k, v);
      for (const k of msg.del) live.state.delete(k);
      live.seq = msg.seq;
      sync(msg.now);
      onUpdate({ full: false, keys: [...Object.keys(msg.set), ...msg.del], events: msg.events });
    });
    source.addEventListener("error", () => {
      setConnected(false);
      // CONNECTING: the browser retries by itself. CLOSED (an HTTP error while the daemon was
      // half up): start over once; a refused token stays refused and the page stays empty.
      if (source.readyState === EventSource.CLOSED) setTimeout(open, 3000);
    });
  };
  const setConnected = (ok) => {
    live.connected = ok;
    badge.hidden = ok;
    document.body.classList.toggle("is-offline", !ok);
  };
  open();
}

function sync(now) {
  if (now) live.offset = Date.parse(now) - Date.now();
}

export function hallNow() {
  return new Date(Date.now() + live.offset);
}

// A clock in the hall's time zone, whatever the screen PC's own zone is.
export function startClock(timeEl, dateEl, tz, lang = () => "zh") {
  const tick = () => {
    const now = hallNow();
    const zh = lang() === "zh";
    timeEl.textContent = new Intl.DateTimeFormat("zh-CN", {
      timeZone: tz, hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false,
    }).format(now);
    if (dateEl) {
      dateEl.textContent = new Intl.DateTimeFormat(zh ? "zh-CN" : "en-GB", {
        timeZone: tz, year: "numeric", month: zh ? "long" : "short", day: "numeric",
        weekday: "long",
      }).format(now);
    }
    setTimeout(tick, 1000 - (Date.now() % 1000) + 5);
  };
  tick();
}

export function byPrefix(prefix) {
  const out = [];
  for (const [k, v] of live.state) if (k.startsWith(prefix)) out.push(v);
  return out;
}

export function minutes(m) {
  return Math.max(0, Math.round(m || 0));
}
