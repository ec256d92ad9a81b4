// 窗口屏 over one window: the ticket in hand, the staff card (挂牌上岗), status, evaluation prompt.
import { config, connect, h, live, startClock, token } from "./live.js";

const app = document.getElementById("app");
const el = {
  name: h("div", { class: "w-name" }, config.name),
  time: h("div", { class: "w-time num" }),
  body: h("main", { class: "w-body" }),
  staff: h("footer", { class: "w-staff" }),
};
app.append(h("header", { class: "w-top" }, el.name, el.time), el.body, el.staff);
startClock(el.time, null, config.tz);

const LEVELS = ["非常满意", "满意", "基本满意", "不满意", "非常不满意"];

function body(w) {
  if (w.status === "closed") {
    return [h("div", { class: "w-big muted" }, "暂停办理"), h("div", { class: "w-sub" }, "Window closed")];
  }
  if (w.status === "paused") {
    return [h("div", { class: "w-big warn" }, "暂停服务"),
      h("div", { class: "w-sub" }, w.pause_reason || "Temporarily paused")];
  }
  if (w.evaluating && (!w.current || w.current.ticket === w.evaluating)) {
    return [h("div", { class: "w-eval-title" }, "请对本次服务进行评价"),
      h("div", { class: "w-sub" }, "Please rate our service on the evaluator"),
      h("ol", { class: "w-levels" }, LEVELS.map((l) => h("li", {}, l)))];
  }
  const cur = w.current;
  if (!cur) {
    return [h("div", { class: "w-big" }, "欢迎光临"), h("div", { class: "w-sub" }, "Welcome")];
  }
  if (cur.state === "called") {
    return [h("div", { class: "w-call" }, "请 ", h("span", { class: "w-ticket num" }, cur.ticket), " 号"),
      h("div", { class: "w-sub" }, `到${config.name}办理 · No. ${cur.ticket} please`)];
  }
  return [h("div", { class: "w-call" }, h("span", { class: "w-ticket num" }, cur.ticket)),
    h("div", { class: "w-sub" }, cur.state === "suspended" ? "挂起 · Suspended" : "办理中 · Serving")];
}

function draw() {
  const w = live.state.get(`windows/${config.window}`);
  if (!w) return;
  app.dataset.status = w.status;
  el.body.replaceChildren(...body(w));
  const s = w.staff;
  el.staff.replaceChildren(...(s
    ? [s.photo
      ? h("img", { class: "w-avatar", src: `${s.photo}?t=${encodeURIComponent(token)}`, alt: s.name })
      : h("div", { class: "w-avatar" }, s.name.slice(0, 1)),
      h("div", { class: "w-card" }, h("div", { class: "w-staff-name" }, s.name),
        h("div", { class: "w-staff-no" }, `工号 ${s.staff_no}`)),
      h("div", { class: "w-badge" }, "挂牌上岗")]
    : [h("div", { class: "w-card" }, h("div", { class: "w-staff-no" }, "")) ]));
}

connect(({ full, keys }) => {
  if (full || keys.includes(`windows/${config.window}`)) draw();
});
