// 自助取号机: services by group with 办事指南, tickets, appointment check-in, on-screen keypad.
// Every request goes to the kiosk gateway (same permissions and rate limit as MQTT kiosks).
import { config, connect, h, live, startClock, token, minutes } from "./live.js";

const T = {
  zh: {
    take: "取号", guide: "办事指南", waiting: (n, m) => [`等候 ${n} 人`, `约 ${m} 分钟`],
    checkin: "预约签到", green: "绿色通道", greenOn: "绿色通道：请选择业务", lang: "English",
    back: "返回", done: "完成", ok: "确定", clear: "清除", del: "删除",
    yourTicket: "您的号码", ahead: (n) => `前面还有 ${n} 人`, est: (m) => `预计等候约 ${m} 分钟`,
    printing: "请取走打印的号票，留意叫号", stopped: "打印机暂停工作（缺纸或故障），请拍照记下您的号码",
    noPrinter: "请拍照记下您的号码，留意叫号", enterCode: "请输入预约码", enterId: "请输入身份证号或手机号",
    idWhy: "本业务每人每天限取一号", badId: "号码格式不正确，请重新输入", hours: "取号时间",
    materials: "申请材料", limit: "办理时限", fees: "收费标准", windows: "办理窗口",
    immediate: "即办件", promised: (d) => `承诺件 · ${d} 个工作日`, allDay: "全天",
    closed: { outside_hours: "不在取号时间", daily_cap_reached: "今日号已取完", service_closed: "暂停取号" },
    network: "网络故障，请稍后再试", all: "全部业务", failed: "号票打印失败，请拍照记下您的号码",
  },
  en: {
    take: "Take ticket", guide: "Guide", waiting: (n, m) => [`${n} waiting`, `about ${m} min`],
    checkin: "Appointment check-in", green: "Green channel", greenOn: "Green channel: choose a service",
    lang: "中文", back: "Back", done: "Done", ok: "OK", clear: "Clear", del: "Delete",
    yourTicket: "Your number", ahead: (n) => `${n} ahead of you`, est: (m) => `Estimated wait ${m} min`,
    printing: "Please take your printed ticket", stopped: "The printer has stopped (paper out or fault): please take a photo of your number",
    noPrinter: "Please take a photo of your number", enterCode: "Enter your appointment code",
    enterId: "Enter your ID number or mobile number", idWhy: "One ticket per person per day",
    badId: "Not a valid ID or mobile number", hours: "Issuing hours", materials: "Materials",
    limit: "Time limit", fees: "Fees", windows: "Windows", immediate: "Done on the spot",
    promised: (d) => `Within ${d} working days`, allDay: "All day",
    closed: { outside_hours: "Outside hours", daily_cap_reached: "Sold out today", service_closed: "Closed" },
    network: "Network problem, please try again", all: "All services", failed: "The ticket could not be printed: please take a photo of your number",
  },
};
const PHONE = /^1[3-9][0-9]{9}$/;
const ID_NUMBER = /^([0-9]{17}[0-9X]|[0-9]{15})$/;

let lang = "zh";
let services = [];
let green = false;
let screen = { name: "home" };
let idleTimer = null;
const t = () => T[lang];
const nameOf = (s) => (lang === "en" && s.name_en) || s.name;

const app = document.getElementById("app");
const clockEl = h("div", { class: "k-time num" });
const dateEl = h("div", { class: "k-date" });
const langBtn = h("button", { class: "k-lang", onclick: () => { lang = lang === "zh" ? "en" : "zh"; render(); } });
const main = h("main", { class: "k-main" });
app.append(
  h("header", { class: "k-top" },
    h("div", { class: "k-hall" }, h("div", { class: "k-hall-name" }, config.hall),
      config.where ? h("div", { class: "k-where" }, config.where) : null),
    h("div", { class: "k-clock" }, clockEl, dateEl), langBtn),
  main);
startClock(clockEl, dateEl, config.tz, () => lang);

async function api(action, body = {}) {
  try {
    const res = await fetch(config.api + action, {
      method: "POST",
      headers: { "Content-Type": "application/json", Authorization: `Bearer ${token}` },
      body: JSON.stringify(body),
    });
    if (res.status === 403) return fail("forbidden", "This screen is not authorised", "此屏幕未授权");
    return await res.json();
  } catch {
    return fail("network", "Network problem, please try again", T.zh.network);
  }
}
const fail = (code, message, message_zh) => ({ ok: false, error: { code, message, message_zh } });
const rid = () => crypto.randomUUID();

async function loadServices() {
  const answer = await api("list_services");
  if (answer.ok) services = answer.result.services;
}

function live_(s) { // a service's queue, fresher from the live channel than from the list
  const q = live.state.get(`services/${s.service}`);
  return q ? { waiting: q.waiting, est: q.est_wait_min } : { waiting: s.waiting, est: s.est_wait_min };
}

function go(next) {
  screen = next;
  render();
  armIdle();
}

function armIdle() {
  clearTimeout(idleTimer);
  if (screen.name !== "home") idleTimer = setTimeout(home, config.idle_s * 1000);
}
document.addEventListener("pointerdown", armIdle, { capture: true });

async function home() {
  green = false;
  screen = { name: "home" };
  await loadServices();
  render();
}

// -- screens ------------------------------------------------------------------------------

function render() {
  langBtn.textContent = t().lang;
  document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
  const draw = { home: drawHome, guide: drawGuide, keypad: drawKeypad, ticket: drawTicket, error: drawError }[screen.name];
  main.replaceChildren(...draw(screen));
  main.dataset.screen = screen.name;
}

function groups() {
  const byCode = new Map(services.map((s) => [s.service, s]));
  const listed = (config.groups || []).map((g) => ({
    name: lang === "en" && g.name_en ? g.name_en : g.name,
    items: g.services.map((c) => byCode.get(c)).filter(Boolean),
  })).filter((g) => g.items.length);
  const grouped = new Set(listed.flatMap((g) => g.items.map((s) => s.service)));
  const rest = services.filter((s) => !grouped.has(s.service));
  if (rest.length) listed.push({ name: listed.length ? (lang === "zh" ? "其他业务" : "Other") : t().all, items: rest });
  return listed;
}

const queues = new Map(); // service -> its tile's queue line, updated in place (no re-render
                          // under a citizen's finger while other tickets are issued)

function queueLine(s) {
  const q = live_(s);
  const closed = !s.open_now && s.closed_reason;
  return closed ? [t().closed[s.closed_reason]]
    : t().waiting(q.waiting, minutes(q.est)).map((part) => h("span", { class: "k-q-part" }, part));
}

function tile(s) {
  const closed = !s.open_now && s.closed_reason;
  const line = h("span", { class: "k-svc-q" }, queueLine(s));
  queues.set(s.service, { line, s });
  return h("div", { class: `k-tile${closed ? " closed" : ""}`, "data-service": s.service },
    h("button", { class: "k-take", onclick: () => choose(s) },
      h("span", { class: "k-svc-name" }, nameOf(s)), line),
    h("button", { class: "k-guide-btn", onclick: () => go({ name: "guide", service: s }) }, t().guide));
}

function drawHome() {
  const out = [];
  if (green) out.push(h("div", { class: "k-banner green" }, t().greenOn));
  out.push(h("div", { class: "k-groups" }, groups().map((g) =>
    h("section", { class: "k-group" }, h("h2", {}, g.name),
      h("div", { class: "k-tiles" }, g.items.filter((s) => !green || s.green_channel).map(tile))))));
  out.push(h("nav", { class: "k-actions" },
    h("button", { class: "k-action", onclick: () => go({ name: "keypad", purpose: "code", value: "" }) }, t().checkin),
    config.green ? h("button", { class: `k-action green${green ? " on" : ""}`, onclick: () => { green = !green; render(); armIdle(); } }, green ? t().back : t().green) : null));
  return out;
}

function drawGuide({ service: s }) {
  const row = (k, v) => h("div", { class: "k-row" }, h("dt", {}, k), h("dd", {}, v));
  const kind = s.kind === "immediate" ? t().immediate : t().promised(s.promised_days);
  return [h("article", { class: "k-guide" },
    h("h2", {}, nameOf(s)),
    s.description ? h("p", { class: "k-desc" }, s.description) : null,
    h("dl", {},
      s.materials.length ? row(t().materials, h("ul", {}, s.materials.map((m) => h("li", {}, m)))) : null,
      row(t().limit, kind),
      row(t().fees, s.fees),
      row(t().hours, s.hours.length ? s.hours.join("，") : t().allDay),
      row(t().windows, s.windows.map((w) => w.name).join("，")))),
  h("nav", { class: "k-actions" },
    h("button", { class: "k-action secondary", onclick: home }, t().back),
    h("button", { class: "k-action primary", onclick: () => choose(s) }, t().take))];
}

function drawKeypad(st) {
  const code = st.purpose === "code";
  const keys = ["1", "2", "3", "4", "5", "6", "7", "8", "9", code ? "" : "X", "0", "⌫"];
  const shown = code ? st.value : maskTyped(st.value);
  const press = (k) => {
    if (k === "⌫") st.value = st.value.slice(0, -1);
    else if (k && st.value.length < (code ? 16 : 18)) st.value += k;
    st.error = null;
    render();
  };
  return [h("div", { class: "k-keypad-box" },
    h("div", { class: "k-keypad-info" },
      h("h2", {}, code ? t().enterCode : t().enterId),
      code ? null : h("p", { class: "k-hint" }, t().idWhy),
      h("output", { class: "k-entry num" }, shown || "\u00a0"),
      st.error ? h("p", { class: "k-error-line" }, st.error) : null),
    h("div", { class: "k-keypad" }, keys.map((k) =>
      h("button", { class: "k-key num", disabled: !k, onclick: () => press(k) }, k)))),
  h("nav", { class: "k-actions" },
    h("button", { class: "k-action secondary", onclick: home }, t().back),
    h("button", { class: "k-action primary", disabled: !st.value, onclick: () => submitKeypad(st) }, t().ok))];
}

function maskTyped(v) { // 身份证/手机 on a public screen: only the first 3 and last 4 show
  return v.length <= 7 ? v : v.slice(0, 3) + "•".repeat(v.length - 7) + v.slice(-4);
}

function drawTicket({ ticket: tk, service }) {
  const printer = config.printer ? live.state.get(`printers/${config.printer}`) : null;
  let note = tk.print === "none" ? t().noPrinter : tk.print === "stopped" ? t().stopped : t().printing;
  let cls = { printing: "ok", none: "info" }[tk.print] || "warn";
  if (printer && printer.failed && printer.failed.split(":")[0].split(",").includes(tk.ticket)) {
    note = t().failed;
    cls = "warn";
  }
  const qr = h("div", { class: "k-qr" });
  qr.innerHTML = tk.qr_svg; // our own server's SVG (segno), no script
  return [h("article", { class: "k-ticket", "data-ticket": tk.ticket },
    h("div", { class: "k-ticket-main" },
      h("div", { class: "k-ticket-label" }, t().yourTicket),
      h("div", { class: "k-ticket-no num" }, tk.ticket),
      h("div", { class: "k-ticket-svc" }, service ? nameOf(service) : tk.service_name),
      h("div", { class: "k-ticket-q" }, t().ahead(tk.ahead), " · ", t().est(minutes(tk.est_wait_min))),
      tk.id_masked ? h("div", { class: "k-ticket-id num" }, tk.id_masked) : null),
    h("div", { class: "k-ticket-side" }, qr, h("p", { class: `k-print ${cls}` }, note))),
  h("nav", { class: "k-actions" }, h("button", { class: "k-action primary", onclick: home }, t().done))];
}

function drawError({ error, service }) {
  const hours = error.code === "outside_hours" && service
    ? h("p", { class: "k-hours" }, `${t().hours}：`, service.hours.length ? service.hours.join("，") : t().allDay) : null;
  const first = lang === "zh" ? error.message_zh : error.message;
  const second = lang === "zh" ? error.message : error.message_zh;
  return [h("article", { class: "k-error", "data-code": error.code },
    h("div", { class: "k-error-icon" }, "!"),
    h("h2", {}, first), h("p", { class: "k-error-en" }, second), hours),
  h("nav", { class: "k-actions" }, h("button", { class: "k-action primary", onclick: home }, t().back))];
}

// -- actions ------------------------------------------------------------------------------

function choose(s) {
  if (s.one_per_person) go({ name: "keypad", purpose: "id", value: "", service: s });
  else take(s, {});
}

async function take(s, person) {
  const tapped = performance.now();
  const action = green ? "green_ticket" : "take_ticket";
  const answer = await api(action, { service: s.service, request_id: rid(), ...person });
  show(answer, s, tapped);
}

async function submitKeypad(st) {
  if (st.purpose === "code") {
    const answer = await api("check_in", { appointment_code: st.value, request_id: rid() });
    const s = answer.ok ? services.find((x) => x.service === answer.result.service) : null;
    show(answer, s, performance.now());
    return;
  }
  const v = st.value.toUpperCase();
  const person = PHONE.test(v) ? { phone: v } : ID_NUMBER.test(v) ? { id_number: v } : null;
  if (!person) { st.error = t().badId; render(); return; }
  await take(st.service, person);
}

function show(answer, service, tapped) {
  if (answer.ok) go({ name: "ticket", ticket: answer.result, service });
  else go({ name: "error", error: answer.error, service });
  window.hallctlKiosk = { ms: performance.now() - tapped, ok: answer.ok };
}

connect(({ full, keys }) => {
  if (screen.name === "home" && full) render();
  else if (screen.name === "home") {
    for (const key of keys) {
      const entry = key.startsWith("services/") && queues.get(key.slice("services/".length));
      if (entry) entry.line.replaceChildren(...queueLine(entry.s));
    }
  }
  if (screen.name === "ticket" && keys.some((k) => k.startsWith("printers/"))) render();
});
home();
