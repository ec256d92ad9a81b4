// Shared by the staff console and the supervisor page: log-in, acts, dialogs, language.
import { config, h, hallNow } from "./live.js";

export const session = { me: null };
let lang = localStorage.getItem("hallctl.lang") || "zh";
export const t = (zh, en) => (lang === "zh" ? zh : en);
export function toggleLang(redraw) {
  lang = lang === "zh" ? "en" : "zh";
  localStorage.setItem("hallctl.lang", lang);
  document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
  redraw();
}

function requestId() {
  if (globalThis.crypto && crypto.randomUUID) return crypto.randomUUID();
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
}

async function post(path, body) {
  const headers = { "Content-Type": "application/json" };
  if (session.me) headers["X-CSRF-Token"] = session.me.csrf;
  const r = await fetch(path, { method: "POST", headers, body: JSON.stringify(body || {}) });
  let data;
  try { data = await r.json(); } catch { data = { ok: false, error: { message: r.statusText } }; }
  if (r.status === 401 && path !== "/api/login") location.reload();  // session ended
  return data;
}

// One act through the engine's door; the answer or a readable error is shown in the status bar.
export async function act(request, status) {
  const answer = await post("/api/act", { request_id: requestId(), ...request });
  if (status) {
    status.textContent = answer.ok ? "" : `${t("未执行", "Not done")}: ${answer.error.message}`;
    status.classList.toggle("error", !answer.ok);
  }
  return answer;
}

export async function chooseWindow(window) {
  const answer = await post("/api/window", { window });
  if (answer.ok) session.me = answer.result;
  return answer;
}

export async function whoami() {
  const r = await fetch("/api/me");
  if (!r.ok) return null;
  session.me = (await r.json()).result;
  return session.me;
}

export async function logout(everywhere) {
  await post(everywhere ? "/api/logout-everywhere" : "/api/logout");
  session.me = null;
  location.reload();
}

// The log-in form; resolves with the session once a log-in succeeds.
export function loginForm(app, title, { askWindow }) {
  return new Promise((resolve) => {
    const user = h("input", { id: "login-staff", autocomplete: "username", required: true });
    const pass = h("input", { id: "login-password", type: "password", autocomplete: "current-password", required: true });
    const win = h("input", { id: "login-window", type: "number", min: 1, inputmode: "numeric" });
    const msg = h("div", { class: "login-msg", role: "alert" });
    const submit = async (e) => {
      e.preventDefault();
      const body = { staff: user.value.trim(), password: pass.value };
      if (askWindow && win.value) body.window = Number(win.value);
      const answer = await post("/api/login", body);
      if (!answer.ok) {
        msg.textContent = answer.error.message;
        pass.value = "";
        pass.focus();
        return;
      }
      session.me = answer.result;
      resolve(session.me);
    };
    const form = h("form", { class: "login", onsubmit: submit },
      h("div", { class: "muted" }, config.hall),
      h("h1", {}, title),
      h("label", {}, t("工号", "Staff number"), user),
      h("label", {}, t("密码", "Password"), pass),
      askWindow ? h("label", {}, t("窗口号（可选）", "Window (optional)"), win) : null,
      h("button", { type: "submit", class: "primary" }, t("登录", "Log in")),
      msg);
    app.replaceChildren(form);
    user.focus();
  });
}

// A small modal form; resolves with {name: value} or null when cancelled.
export function dialog(title, fields) {
  return new Promise((resolve) => {
    const inputs = {};
    const close = (value) => { back.remove(); resolve(value); };
    const body = fields.map((f) => {
      let input;
      if (f.options) {
        input = h("select", { name: f.name }, f.options.map(([v, label]) => h("option", { value: v }, label)));
      } else if (f.type === "checkbox") {
        input = h("input", { type: "checkbox", name: f.name });
      } else {
        input = h("input", { name: f.name, type: f.type || "text", value: f.value ?? "", required: f.required || false });
      }
      inputs[f.name] = input;
      return h("label", {}, f.label, input);
    });
    const form = h("form", { class: "dialog", onsubmit: (e) => {
      e.preventDefault();
      const out = {};
      for (const [k, el] of Object.entries(inputs)) out[k] = el.type === "checkbox" ? el.checked : el.value;
      close(out);
    } }, h("h2", {}, title), body,
    h("div", { class: "dialog-buttons" },
      h("button", { type: "button", onclick: () => close(null) }, t("取消", "Cancel")),
      h("button", { type: "submit", class: "primary" }, t("确定", "OK"))));
    const back = h("div", { class: "dialog-back", onkeydown: (e) => { if (e.key === "Escape") close(null); } }, form);
    document.body.append(back);
    (form.querySelector("input,select") || form.querySelector("button.primary")).focus();
  });
}

// "12 分钟" since an ISO time, on the hall's clock.
export function since(iso) {
  if (!iso) return "";
  const m = Math.max(0, Math.floor((hallNow() - Date.parse(iso)) / 60000));
  return m < 60 ? `${m}${t(" 分钟", " min")}` : `${Math.floor(m / 60)}${t(" 小时 ", " h ")}${m % 60}${t(" 分", " min")}`;
}

export function clockTime(iso) {
  return iso ? iso.slice(11, 16) : "";
}

export const CHANNEL = { green: ["绿色通道", "Green channel"], appointment: ["预约", "Appointment"], normal: ["普通", "Walk-in"] };
export const STATUS = { open: ["服务中", "Open"], paused: ["暂停", "Paused"], closed: ["关闭", "Closed"] };
export const LEVELS = { 5: ["非常满意", "Very satisfied"], 4: ["满意", "Satisfied"], 3: ["基本满意", "Fair"], 2: ["不满意", "Dissatisfied"], 1: ["非常不满意", "Very dissatisfied"] };
