// 窗口呼叫 (the staff console): one window's day from a browser tab, every action a button
// with its F-key. State comes from the live channel; acts go to /api/act (checked on the server).
import { config, connect, h, live, startClock } from "./live.js";
import { act, chooseWindow, CHANNEL, clockTime, dialog, LEVELS, loginForm, logout, session, since, STATUS, t, toggleLang, whoami } from "./console_common.js";

const app = document.getElementById("app");
let windowNo = null;
let lastEval = null;
const status = h("div", { class: "statusbar", role: "status" });

const ACTIONS = [
  { key: "F1", zh: "叫号", en: "Call next", run: () => act({ action: "call_next", window: windowNo }, status) },
  { key: "F2", zh: "重呼", en: "Recall", run: () => act({ action: "recall", window: windowNo }, status) },
  { key: "F3", zh: "弃号", en: "No-show", run: () => act({ action: "no_show", window: windowNo }, status) },
  { key: "F4", zh: "开始办理", en: "Start", run: () => act({ action: "start_service", window: windowNo }, status) },
  { key: "F5", zh: "办结", en: "Finish", run: finish },
  { key: "F6", zh: "挂起", en: "Suspend", run: () => act({ action: "suspend", window: windowNo }, status) },
  { key: "F7", zh: "回呼", en: "Call back", run: callBack },
  { key: "F8", zh: "转移", en: "Transfer", run: transfer },
  { key: "F9", zh: "暂停/恢复", en: "Pause/resume", run: pauseResume },
  { key: "F10", zh: "请求评价", en: "Ask rating", run: () => act({ action: "request_evaluation", window: windowNo }, status) },
  { key: "F11", zh: "开窗/关窗", en: "Open/close", run: openClose },
  { key: "F12", zh: "叫指定号", en: "Call a ticket", run: () => callTicket() },
];

async function finish() {
  const v = await dialog(t("办结", "Finish"), [{ name: "case_no", label: t("办件编号（可选）", "Case number (optional)") }]);
  if (v) act({ action: "finish", window: windowNo, ...(v.case_no ? { case_no: v.case_no.trim() } : {}) }, status);
}

async function callBack() {
  const w = live.state.get(`windows/${windowNo}`);
  const parked = (w && w.suspended) || [];
  if (!parked.length) { status.textContent = t("没有挂起的号码", "No suspended ticket"); return; }
  const v = await dialog(t("回呼", "Call back"), [{ name: "ticket", label: t("号码", "Ticket"), options: parked.map((p) => [p.ticket, p.ticket]) }]);
  if (v) act({ action: "call_back", window: windowNo, ticket: v.ticket }, status);
}

async function transfer() {
  const options = live.state.get("services").map((s) => [s.code, `${s.code} ${s.name}`]);
  const v = await dialog(t("转移", "Transfer"), [
    { name: "service", label: t("转到业务", "To service"), options },
    { name: "front", label: t("排在队首", "To the front of the line"), type: "checkbox" }]);
  if (v) act({ action: "transfer", window: windowNo, service: v.service, front: v.front }, status);
}

async function pauseResume() {
  const w = live.state.get(`windows/${windowNo}`);
  if (w && w.status === "paused") return act({ action: "resume_window", window: windowNo }, status);
  const v = await dialog(t("暂停服务", "Pause"), [{ name: "reason", label: t("原因", "Reason"), value: t("临时离开", "Short break") }]);
  if (v) act({ action: "pause_window", window: windowNo, reason: v.reason || null }, status);
}

function openClose() {
  const w = live.state.get(`windows/${windowNo}`);
  if (w && w.status !== "closed") return act({ action: "close_window", window: windowNo }, status);
  return act({ action: "open_window", window: windowNo, staff: session.me.staff }, status);
}

async function callTicket(number) {
  const v = await dialog(t("叫指定号", "Call a specific ticket"), [
    { name: "ticket", label: t("号码", "Ticket"), value: number || "", required: true },
    { name: "reason", label: t("原因（监察可见）", "Reason (seen by supervision)"), required: true }]);
  if (v) act({ action: "call_ticket", window: windowNo, ticket: v.ticket.trim().toUpperCase(), reason: v.reason.trim() }, status);
}

function pickWindow() {
  const mine = session.me.windows;
  if (session.me.window) return Promise.resolve(session.me.window);
  if (mine.length === 1) return Promise.resolve(mine[0]);
  const all = mine.length ? mine : [...live.state.keys()].filter((k) => k.startsWith("windows/")).map((k) => Number(k.slice(8)));
  return dialog(t("选择窗口", "Choose your window"), [{ name: "window", label: t("窗口", "Window"), options: all.map((n) => [n, `${n}`]) }])
    .then((v) => (v ? Number(v.window) : all[0]));
}

function ticketPanel(w) {
  const cur = w.current;
  if (!cur) {
    return h("section", { class: "in-hand empty" }, h("div", { class: "label" }, t("当前无办理中的号码", "No ticket in hand")),
      h("div", { class: "hint" }, t("按 F1 叫号", "Press F1 to call the next ticket")));
  }
  const [czh, cen] = CHANNEL[cur.channel] || CHANNEL.normal;
  const state = { called: t("已叫号，等候到窗", "Called, on the way"), serving: t("办理中", "Serving"), suspended: t("挂起", "Suspended") }[cur.state] || cur.state;
  return h("section", { class: "in-hand", "data-state": cur.state },
    h("div", { class: "ticket num", id: "ticket-in-hand" }, cur.ticket),
    h("div", { class: "ticket-meta" },
      h("div", { class: "svc" }, cur.service_name),
      h("div", {}, h("span", { class: `chip ch-${cur.channel}` }, t(czh, cen)), " ", h("span", { class: "chip" }, state)),
      h("div", {}, t("取号 ", "Issued "), clockTime(cur.issued_at), t("　已等 ", "  waited "), since(cur.waiting_since)),
      cur.served_at ? h("div", {}, t("办理已 ", "In service "), since(cur.served_at)) : null,
      cur.recalls ? h("div", {}, t(`重呼 ${cur.recalls} 次`, `Recalled ${cur.recalls}×`)) : null));
}

function linesPanel(w) {
  const rows = w.services.map(({ service }) => {
    const line = live.state.get(`lines/${service}`);
    if (!line) return null;
    return h("div", { class: "line" },
      h("div", { class: "line-head" }, h("b", {}, line.name), h("span", { class: "num" }, t(`等候 ${line.waiting} 人`, `${line.waiting} waiting`)),
        line.issuing ? null : h("span", { class: "chip warn" }, t("已停止取号", "Issuing stopped"))),
      h("div", { class: "next" }, line.next.map((n) => h("button", {
        class: `next-ticket num ch-${n.channel}`, title: t("叫这个号", "Call this ticket"),
        onclick: () => callTicket(n.ticket) }, n.ticket)),
      line.next.length ? null : h("span", { class: "muted" }, t("无人等候", "Nobody waiting"))));
  });
  return h("section", { class: "lines" }, h("h2", {}, t("本窗口业务", "Lines of this window")), rows);
}

function sidePanel(w) {
  const counts = live.state.get(`counts/${windowNo}`) || {};
  const parked = w.suspended || [];
  return h("section", { class: "side" },
    h("h2", {}, t("挂起的号码", "Suspended")),
    parked.length ? h("div", { class: "next" }, parked.map((p) => h("button", { class: "next-ticket num", onclick: () => act({ action: "call_back", window: windowNo, ticket: p.ticket }, status) }, p.ticket)))
      : h("div", { class: "muted" }, t("无", "None")),
    h("h2", {}, t("今日本窗口", "Today at this window")),
    h("dl", { class: "counts" },
      h("dt", {}, t("办结", "Served")), h("dd", { class: "num", id: "count-served" }, counts.served ?? 0),
      h("dt", {}, t("弃号", "No-shows")), h("dd", { class: "num" }, counts.no_show ?? 0),
      h("dt", {}, t("平均等候", "Mean wait")), h("dd", { class: "num" }, counts.mean_wait_min ?? "–", t(" 分", " min")),
      h("dt", {}, t("平均办理", "Mean service")), h("dd", { class: "num" }, counts.mean_service_min ?? "–", t(" 分", " min"))),
    lastEval ? h("div", { class: `eval ${lastEval.level && lastEval.level <= 2 ? "bad" : "good"}`, id: "last-evaluation" },
      h("h2", {}, t("评价结果", "Rating")), h("div", {}, `${lastEval.ticket} · `,
        lastEval.level ? t(...LEVELS[lastEval.level]) : t("未评价", "Not rated")),
      lastEval.reason ? h("div", {}, t("原因：", "Reason: "), lastEval.reason) : null) : null);
}

const clock = h("span", { class: "num" });
function draw() {
  const w = live.state.get(`windows/${windowNo}`);
  if (!w || !session.me) return;
  const [szh, sen] = STATUS[w.status];
  const staffName = w.staff ? `${w.staff.name}（${w.staff.staff_no}）` : t("未挂牌", "Nobody signed in");
  app.replaceChildren(
    h("header", { class: "bar" },
      h("div", { class: "title" }, h("b", { id: "window-name" }, w.name), h("span", { class: `chip st-${w.status}`, id: "window-status" }, t(szh, sen)),
        w.pause_reason && w.status === "paused" ? h("span", { class: "muted" }, w.pause_reason) : null),
      h("div", { class: "who" }, staffName),
      clock,
      h("button", { onclick: () => toggleLang(draw) }, t("English", "中文")),
      h("button", { onclick: () => logout(false) }, t("退出", "Log out"))),
    h("main", { class: "console" }, ticketPanel(w), linesPanel(w), sidePanel(w)),
    h("nav", { class: "keys" }, ACTIONS.map((a) => h("button", { class: "key", "data-key": a.key, onclick: a.run },
      h("kbd", {}, a.key), h("span", {}, t(a.zh, a.en))))),
    status);
}

document.addEventListener("keydown", (e) => {
  if (document.querySelector(".dialog-back")) return;
  const a = ACTIONS.find((x) => x.key === e.key);
  if (a && windowNo) { e.preventDefault(); a.run(); }
});

async function start() {
  const me = (await whoami()) || (await loginForm(app, t("窗口呼叫登录", "Counter log-in"), { askWindow: true }));
  startClock(clock, null, config.tz);
  let first = true;
  connect(async ({ events }) => {
    for (const e of events) {
      if (e.type === "evaluation.recorded" && e.data.window === windowNo) lastEval = e.data;
    }
    if (first) {
      first = false;
      windowNo = await pickWindow();
      if (session.me.window !== windowNo) await chooseWindow(windowNo);
      document.body.dataset.window = windowNo;
    }
    draw();
  });
  return me;
}
start();
