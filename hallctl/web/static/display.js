// 大屏 / zone display: latest calls, windows with their staff card, queues, clock, notice.
import { config, connect, h, live, startClock, byPrefix, minutes, token } from "./live.js";

const STATUS = { open: "服务中", paused: "暂停服务", closed: "暂停办理" };
const STATE = { called: "请到窗口", serving: "办理中", suspended: "挂起" };
const showWindow = (w) => !config.windows.length || config.windows.includes(w.window);
const showService = (s) => !config.services.length || config.services.includes(s.service);

const app = document.getElementById("app");
const el = {
  title: h("h1", { class: "title" }, config.title),
  time: h("div", { class: "time num" }),
  date: h("div", { class: "date" }),
  calls: h("ol", { class: "calls" }),
  windows: h("div", { class: "windows" }),
  services: h("div", { class: "services" }),
  notice: h("div", { class: "notice-text" }),
};
app.append(
  h("header", { class: "top" }, el.title, h("div", { class: "clock" }, el.time, el.date)),
  h("main", { class: "middle" },
    h("section", { class: "calls-panel" },
      h("h2", {}, "最新叫号 ", h("small", {}, "Now calling")), el.calls),
    h("section", { class: "windows-panel" }, el.windows)),
  el.services,
  h("footer", { class: "notice" }, el.notice),
);
startClock(el.time, el.date, config.tz);

let newest = null; // the call at the top when we last drew, to know what is new
let highlightUntil = 0;
window.hallctlMetrics = []; // (call ts, shown at) pairs, read by the benchmark

function drawCalls(initial) {
  const calls = (live.state.get("calls") || []).filter((c) => showWindow(c));
  const top = calls[0] ? `${calls[0].ticket}@${calls[0].ts}@${calls[0].window}` : null;
  if (!initial && top && top !== newest) {
    highlightUntil = Date.now() + config.highlight_s * 1000;
  }
  newest = top;
  el.calls.replaceChildren(...calls.map((c, i) =>
    h("li", { class: i === 0 ? "call newest" : "call", "data-ticket": c.ticket },
      h("span", { class: "ticket num" }, c.ticket),
      h("span", { class: "arrow" }, "→"),
      h("span", { class: "to" }, c.window_name))));
  flash();
}

function flash() {
  const first = el.calls.firstElementChild;
  if (!first) return;
  const on = Date.now() < highlightUntil;
  first.classList.toggle("blink", on);
  if (on) setTimeout(flash, highlightUntil - Date.now() + 10);
}

const cards = new Map(); // window number -> its card, so a change redraws one card only

function card(w) {
  const cur = w.current;
  return h("article", { class: `win st-${w.status}`, "data-window": w.window },
    h("div", { class: "win-name" }, w.name),
    h("div", { class: "win-ticket num" },
      w.status !== "open" ? STATUS[w.status] : cur ? cur.ticket : "—"),
    h("div", { class: "win-state" },
      w.status === "open" ? (cur ? STATE[cur.state] || "" : "等待叫号")
        : w.status === "paused" && w.pause_reason ? w.pause_reason : ""),
    w.staff
      ? h("div", { class: "win-staff" },
        w.staff.photo ? h("img", { class: "win-photo", alt: "", src: `${w.staff.photo}?t=${encodeURIComponent(token)}` }) : null,
        h("span", { class: "who" }, w.staff.name, h("span", { class: "no" }, `工号 ${w.staff.staff_no}`)))
      : h("div", { class: "win-staff empty" }, ""));
}

function drawWindows(keys) {
  if (keys === null) {
    const windows = byPrefix("windows/").filter(showWindow).sort((a, b) => a.window - b.window);
    el.windows.dataset.count = windows.length > 16 ? "many" : windows.length > 8 ? "some" : "few";
    cards.clear();
    el.windows.replaceChildren(...windows.map((w) => {
      const c = card(w);
      cards.set(w.window, c);
      return c;
    }));
    return;
  }
  for (const key of keys) {
    const w = live.state.get(key);
    const old = w && cards.get(w.window);
    if (old) {
      const c = card(w);
      old.replaceWith(c);
      cards.set(w.window, c);
    }
  }
}

function drawServices() {
  const services = byPrefix("services/").filter(showService);
  el.services.replaceChildren(...services.map((s) =>
    h("div", { class: "svc" },
      h("div", { class: "svc-name" }, s.name),
      h("div", { class: "svc-q" }, "等候 ", h("b", { class: "num" }, s.waiting), " 人 · 约 ",
        h("b", { class: "num" }, minutes(s.est_wait_min)), " 分钟"))));
}

function drawNotice() {
  const notices = live.state.get("notices") || {};
  const text = notices[config.zone] || notices[""] || "";
  if (el.notice.textContent !== text) {
    el.notice.textContent = text;
    el.notice.style.animationDuration = `${Math.max(12, text.length * 0.45)}s`;
  }
}

function play(events) {
  if (!config.voice) return;
  for (const e of events) {
    if (e.type === "voice.announced" && (!e.data.zone || e.data.zone === config.zone)) {
      const url = e.data.audio_url || `/voice/${encodeURIComponent(config.zone)}/latest.wav`;
      new Audio(url).play().catch(() => {}); // autoplay needs --autoplay-policy (docs/pages.md)
    }
  }
}

connect(({ full, keys, events }) => {
  const started = performance.now();
  const touched = (p) => full || keys.some((k) => k.startsWith(p));
  if (touched("calls")) drawCalls(full);
  if (events.some((e) => e.type === "ticket.recalled" && showWindow(e.data))) {
    highlightUntil = Date.now() + config.highlight_s * 1000;
    flash();
  }
  if (full) drawWindows(null);
  else drawWindows(keys.filter((k) => k.startsWith("windows/")));
  if (touched("services/")) drawServices();
  if (touched("notices")) drawNotice();
  for (const e of events) {
    if (e.type === "ticket.called" && e.ts) {
      window.hallctlMetrics.push([e.ts, Date.now(), e.data.ticket, performance.now() - started]);
      if (window.hallctlMetrics.length > 2000) window.hallctlMetrics.shift();
    }
  }
  play(events);
});
