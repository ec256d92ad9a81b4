// 大厅监管 (the supervisor page): every window live, the lines, devices, alarms, and steering.
// Every button is an act through /api/act; the server checks the supervisor role.
import { config, connect, h, live, startClock } from "./live.js";
import { act, clockTime, dialog, loginForm, logout, session, since, STATUS, t, toggleLang, whoami } from "./console_common.js";

const app = document.getElementById("app");
const status = h("div", { class: "statusbar", role: "status" });
const clock = h("span", { class: "num" });

function staffOptions() {
  return [["", t("（无人）", "(nobody)")], ...(live.state.get("staff") || []).map((s) => [s.id, `${s.name} ${s.staff_no}`])];
}

function windowCard(w) {
  const [szh, sen] = STATUS[w.status];
  const cur = w.current;
  const busy = cur ? (cur.state === "serving" ? "serving" : "called") : "idle";
  const controls = w.status === "closed"
    ? [h("button", { onclick: () => act({ action: "open_window", window: w.window }, status) }, t("开窗", "Open"))]
    : [w.status === "paused"
      ? h("button", { onclick: () => act({ action: "resume_window", window: w.window }, status) }, t("恢复", "Resume"))
      : h("button", { onclick: async () => {
        const v = await dialog(t(`暂停 ${w.name}`, `Pause ${w.name}`), [{ name: "reason", label: t("原因", "Reason"), value: t("监管暂停", "Paused by supervisor") }]);
        if (v) act({ action: "pause_window", window: w.window, reason: v.reason || null }, status);
      } }, t("暂停", "Pause")),
    h("button", { class: "danger", onclick: () => act({ action: "close_window", window: w.window }, status) }, t("关窗", "Close"))];
  controls.push(h("button", { onclick: async () => {
    const v = await dialog(t(`调岗到 ${w.name}`, `Move staff to ${w.name}`), [{ name: "staff", label: t("工作人员", "Staff"), options: staffOptions() }]);
    if (v) act({ action: "assign_staff", window: w.window, staff: v.staff || null }, status);
  } }, t("调岗", "Staff")));
  return h("article", { class: `wcard st-${w.status} busy-${busy}`, "data-window": w.window },
    h("div", { class: "wcard-head" }, h("b", {}, w.name), h("span", { class: `chip st-${w.status}` }, t(szh, sen))),
    h("div", { class: "wcard-staff" }, w.staff ? `${w.staff.name} · ${w.staff.staff_no}` : h("span", { class: "warn-text" }, t("未挂牌", "Unstaffed"))),
    h("div", { class: "wcard-ticket num" }, cur ? cur.ticket : "—"),
    h("div", { class: "wcard-time" }, cur
      ? (cur.served_at ? t("办理 ", "serving ") + since(cur.served_at) : t("叫号 ", "called ") + since(cur.called_at))
      : (w.status === "paused" ? (w.pause_reason || "") : t(`等候 ${w.waiting} 人`, `${w.waiting} waiting`))),
    kpiLine(w.window),
    h("div", { class: "wcard-buttons" }, controls));
}

function kpiLine(n) {
  const c = live.state.get(`counts/${n}`) || {};
  return h("div", { class: "wcard-kpi muted" }, t("办结 ", "served "), h("b", { class: "num" }, c.served ?? 0),
    t(" · 弃号 ", " · no-show "), h("b", { class: "num" }, c.no_show ?? 0),
    c.mean_service_min != null ? [t(" · 均办 ", " · mean "), h("b", { class: "num" }, c.mean_service_min), t(" 分", " min")] : null);
}

function linesTable() {
  const rows = [...live.state.entries()].filter(([k]) => k.startsWith("lines/")).map(([, l]) => h("tr", { "data-service": l.service },
    h("td", {}, l.name), h("td", { class: "num" }, l.waiting), h("td", { class: "num" }, l.oldest_since ? since(l.oldest_since) : "–"),
    h("td", { class: "num" }, `${Math.round(l.est_wait_min || 0)}`), h("td", { class: "num" }, `${l.issued}/${l.cap_today}`),
    h("td", { class: "num" }, l.served), h("td", { class: "num" }, l.mean_wait_min ?? "–"),
    h("td", {}, l.issuing
      ? h("button", { class: "danger", onclick: async () => {
        const v = await dialog(t(`停止取号：${l.name}`, `Stop issuing: ${l.name}`), [{ name: "reason", label: t("原因", "Reason") }]);
        if (v) act({ action: "set_service_issuing", service: l.service, issuing: false, reason: v.reason || null }, status);
      } }, t("停止取号", "Stop"))
      : h("button", { onclick: () => act({ action: "set_service_issuing", service: l.service, issuing: true }, status) }, t("恢复取号", "Resume")),
    h("button", { onclick: async () => {
      const v = await dialog(t(`今日号源：${l.name}`, `Today's cap: ${l.name}`), [{ name: "cap", label: t("上限", "Cap"), type: "number", value: l.cap_today, required: true }]);
      if (v) act({ action: "set_service_cap", service: l.service, cap: Number(v.cap) }, status);
    } }, t("号源", "Cap")))));
  return h("table", { class: "grid" }, h("thead", {}, h("tr", {}, [t("业务", "Service"), t("等候", "Waiting"), t("最长等候", "Longest"),
    t("预计(分)", "Est. min"), t("已取/上限", "Issued/cap"), t("办结", "Served"), t("均等(分)", "Mean wait"), ""].map((x) => h("th", {}, x)))),
  h("tbody", {}, rows));
}

function alarmsList() {
  const alarms = live.state.get("alarms") || [];
  if (!alarms.length) return h("div", { class: "muted" }, t("当前无告警", "No open alarms"));
  return h("ul", { class: "alarms" }, alarms.map((a) => h("li", { class: `alarm sev-${a.severity || "warning"}` },
    h("div", {}, h("b", {}, a.message), " ", h("span", { class: "muted" }, `${clockTime(a.since)} · ${since(a.since)}`)),
    a.ack ? h("span", { class: "chip", title: a.ack.note || "" }, t(`已确认 · ${a.ack.by}`, `Acknowledged · ${a.ack.by}`))
      : h("button", { onclick: async () => {
        const v = await dialog(t("确认告警", "Acknowledge"), [{ name: "note", label: t("备注", "Note") }]);
        if (v) act({ action: "acknowledge_alarm", alarm: a.alarm, note: v.note || null }, status);
      } }, t("确认", "Ack")))));
}

function devicesList() {
  const devices = Object.entries(live.state.get("devices") || {});
  if (!devices.length) return h("div", { class: "muted" }, t("无设备上报", "No devices reported"));
  return h("ul", { class: "devices" }, devices.map(([id, d]) => h("li", { class: d.online ? "ok" : "bad" },
    `${id} `, h("span", { class: "chip" }, d.online ? t("在线", "online") : t("离线", "offline")), d.alarms.length ? ` ${d.alarms.join(", ")}` : "")));
}

function sinksList() {
  const sinks = live.state.get("sinks") || [];
  if (!sinks.length) return h("div", { class: "muted" }, t("未配置后端", "No back ends configured"));
  return h("ul", { class: "devices sinks" }, sinks.map((k) => h("li", { class: k.state === "ok" ? "ok" : "bad", "data-sink": k.name },
    `${k.name} (${k.type}) `, h("span", { class: "chip" }, k.state),
    t(` 积压 ${k.lag_records} 条`, ` lag ${k.lag_records}`), k.last_error ? h("div", { class: "muted" }, k.last_error) : null)));
}

function draw() {
  if (!session.me) return;
  const k = live.state.get("kpi") || {};
  const windows = [...live.state.entries()].filter(([key]) => key.startsWith("windows/")).map(([, w]) => w);
  app.replaceChildren(
    h("header", { class: "bar" },
      h("div", { class: "title" }, h("b", {}, config.hall), h("span", {}, t("大厅监管", "Supervision"))),
      h("div", { class: "kpis" },
        ...[[t("取号", "Issued"), k.issued], [t("办结", "Served"), k.served], [t("等候", "Waiting"), k.waiting], [t("弃号", "No-shows"), k.no_show],
          [t("满意率", "Satisfaction"), k.satisfaction == null ? "–" : `${k.satisfaction}%`]].map(([l, v]) => h("div", { class: "kpi" }, h("span", {}, l), h("b", { class: "num" }, v ?? 0)))),
      clock,
      h("a", { href: "/reports/", class: "button" }, t("报表", "Reports")),
      h("button", { onclick: async () => {
        const v = await dialog(t("大屏通知", "Display notice"), [{ name: "text", label: t("通知内容", "Notice text") }]);
        if (v) act({ action: "set_notice", text: v.text }, status);
      } }, t("发布通知", "Notice")),
      h("button", { onclick: () => toggleLang(draw) }, t("English", "中文")),
      h("button", { onclick: () => logout(false) }, t("退出", "Log out"))),
    h("main", { class: "supervisor" },
      h("section", { class: "windows" }, windows.map(windowCard)),
      h("section", { class: "right" },
        h("h2", {}, t("告警", "Alarms")), alarmsList(),
        h("h2", {}, t("设备", "Devices")), devicesList(),
        h("h2", {}, t("后端转发", "Back ends")), sinksList())),
    h("section", { class: "lines-wide" }, linesTable()),
    status);
}

async function start() {
  const me = (await whoami()) || (await loginForm(app, t("大厅监管登录", "Supervisor log-in"), { askWindow: false }));
  if (me.role === "staff") {
    app.replaceChildren(h("div", { class: "login" }, h("h1", {}, t("需要监管权限", "Supervisor role needed")),
      h("a", { href: "/staff" }, t("前往窗口呼叫", "Go to the staff console"))));
    return;
  }
  startClock(clock, null, config.tz);
  connect(() => draw());
  setInterval(draw, 30000);  // durations ("12 分钟") age between changes
}
start();
